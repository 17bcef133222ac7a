# tools/trace/view.py
#
# The viewers' command line: one trace (trace/SCHEMA.md) in, any of three
# views out.
#
#   python3 -m tools.trace.view TRACE.jsonl                    # terminal columns
#   python3 -m tools.trace.view --html OUT.html TRACE.jsonl    # HTML timeline
#   python3 -m tools.trace.view --perfetto OUT.json TRACE.jsonl  # Perfetto / chrome://tracing
#   python3 -m tools.trace.view --columns --topics VOTE,LEAD --peers 0,1 \
#       --from 2.5 --to 4s TRACE.jsonl
#
# Exit status: 0, or 2 when the trace cannot be read (the message says why).

from __future__ import annotations

import argparse
import re
import sys

from tools.trace import columns, first_bad, page, perfetto, records


def parse_time(text: str) -> float:
    """"2.5", "2.5s", "300ms", "1500us" -> microseconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|ms|us)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (e.g. 2.5, 2.5s, 300ms, 1500us)")
    value, unit = float(m.group(1)), m.group(2) or "s"
    return value * {"s": 1e6, "ms": 1e3, "us": 1.0}[unit]


def _names(text: str) -> list:
    return [x.strip() for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python3 -m tools.trace.view",
        description="Shows a run's trace (JSON Lines, trace/SCHEMA.md): as columns in the "
                    "terminal (the default), as an HTML timeline, or as Perfetto JSON.")
    ap.add_argument("trace", help="the trace file (.jsonl)")
    ap.add_argument("--html", metavar="OUT.html", help="write the HTML timeline")
    ap.add_argument("--perfetto", metavar="OUT.json",
                    help="write Chrome trace-event JSON (Perfetto UI, chrome://tracing)")
    ap.add_argument("--columns", action="store_true",
                    help="print the terminal view (the default when no other output is asked)")
    ap.add_argument("--topics", type=_names, metavar="A,B",
                    help="columns: only these topics (lab topics such as VOTE, LEAD, LOG, and "
                         "RPC, HEARTBEAT, APPLY, STATE, TESTER); the failure always shows")
    ap.add_argument("--peers", type=_names, metavar="0,1", help="columns: only these peers/clerks")
    ap.add_argument("--from", dest="t_from", type=parse_time, metavar="TIME",
                    help="columns: from this time (seconds, or 300ms, 1500us)")
    ap.add_argument("--to", dest="t_to", type=parse_time, metavar="TIME", help="columns: up to this time")
    ap.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                    help="columns: colours (auto: only on a terminal)")
    ap.add_argument("--width", type=int, help="columns: line width (default: the terminal's, or 160)")
    ap.add_argument("--budget", type=int, default=page.DEFAULT_BUDGET, metavar="BYTES",
                    help="html: most bytes of data in the page (default %(default)s)")
    return ap


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    try:
        trace = records.load(a.trace)
    except records.TraceError as e:
        print(f"trace view: {e}", file=sys.stderr)
        return 2
    for w in trace.warnings:
        print(f"trace view: note: {w}", file=sys.stderr)
    if a.html:
        size = page.write(trace, a.html, budget=a.budget)
        where = first_bad.focus(trace)
        note = ""
        if where and where["first_bad"]:
            note = f"; opens at the first bad moment, {where['t'] / 1e6:.3f}s: {where['what']}"
        print(f"trace view: wrote {a.html} ({size / 1e6:.1f} MB{note})", file=sys.stderr)
    if a.perfetto:
        size = perfetto.write(trace, a.perfetto)
        print(f"trace view: wrote {a.perfetto} ({size / 1e6:.1f} MB; open it at ui.perfetto.dev "
              "or chrome://tracing)", file=sys.stderr)
    if a.columns or not (a.html or a.perfetto):
        try:
            columns.write(trace, sys.stdout, color=a.color, width=a.width, topics=a.topics,
                          peers=a.peers, t_from=a.t_from, t_to=a.t_to)
            sys.stdout.flush()
        except BrokenPipeError:  # piped into head, less, ...
            sys.stderr.close()
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
