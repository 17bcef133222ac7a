# tools/trace/columns.py
#
# The terminal view of a trace: one column per peer (then one per clerk),
# time down the left, each line coloured by its topic; tester actions, the
# first bad moment and the failure span the width. Colours come from
# Debian's python3-rich; piped output (or --color never) is plain text.
#
#   lines = columns.render(trace, width=160, topics={"VOTE", "LEAD"},
#                          peers={"0", "1"}, t_from=2e6, t_to=5e6)
#   columns.write(trace, sys.stdout, color="auto")
#
# Topics: the lab's own (LAB_LOG: VOTE, LEAD, LOG, ...) and the tester's
# records: RPC (calls, losses, replies), HEARTBEAT (empty AppendEntries),
# APPLY, STATE (term/role/log length/commit/applied changes), TESTER.

from __future__ import annotations

import dataclasses
import shutil
import sys
import textwrap
from typing import Iterable, Optional

from tools.trace import first_bad, model
from tools.trace.records import Trace


def _import_rich():
    """rich from Python's path, or else Debian's python3-rich (installed by
    tools/bootstrap.sh for /usr/bin/python3) when another python3 runs us."""
    try:
        import rich.console  # noqa: F401
    except ImportError:
        debian = "/usr/lib/python3/dist-packages"
        if debian not in sys.path:
            sys.path.append(debian)
        try:
            import rich.console  # noqa: F401
        except ImportError:
            return None
    import rich
    return rich


TOPIC_STYLES = {
    "VOTE": "dark_orange", "LEAD": "green", "LOG": "blue", "COMMIT": "magenta",
    "PERSIST": "yellow", "SNAP": "bright_magenta", "TIMER": "bright_black", "APPLY": "cyan",
    "TERM": "red", "RPC": "bright_blue", "HEARTBEAT": "bright_black", "STATE": "bold",
    "TESTER": "bold white on grey23", "FAILURE": "bold white on red",
    "FIRST BAD": "bold black on dark_orange",
}
_FALLBACK = ["bright_green", "bright_cyan", "bright_red", "bright_yellow", "purple", "turquoise2"]

def topic_style(topic: str) -> str:
    if topic in TOPIC_STYLES:
        return TOPIC_STYLES[topic]
    return _FALLBACK[sum(map(ord, topic)) % len(_FALLBACK)]


@dataclasses.dataclass
class Line:
    t: int
    col: Optional[int]   # None: spans the width
    topic: str
    text: str


def _lines(trace: Trace, cols: list) -> list:
    """Every line of the view, in record order, before filtering."""
    index = {name: i for i, name in enumerate(cols)}
    out = []
    hidden = -1   # the column of an actor not shown (filtered out): its lines are skipped

    def where(actor):
        actor = str(actor)
        return None if actor == "tester" else index.get(actor, hidden)

    calls = {c.id: c for c in model.calls(trace)}
    moment = first_bad.shown(trace)
    last_state: dict = {}
    for r in trace.records:
        kind, t = r["kind"], r["t"]
        if moment and r["seq"] == moment.seq:
            out.append(Line(t, None, "FIRST BAD", f"first bad moment: {moment.what}"))
        if kind == "log":
            out.append(Line(t, where(r.get("peer", "tester")), r.get("topic", "?"),
                            f"{r.get('topic', '?')} {r.get('text', '')}"))
        elif kind == "tester":
            if r.get("event") == "start" and "peer" in r:
                out.append(Line(t, where(r["peer"]), "TESTER", model.tester_text(r)))
            else:
                out.append(Line(t, None, "TESTER", model.tester_text(r)))
        elif kind == "apply":
            out.append(Line(t, where(r.get("peer")), "APPLY", model.apply_text(r)))
        elif kind == "state":
            peer = str(r.get("peer"))
            s = last_state.setdefault(peer, {})
            s.update({k: r[k] for k in model.STATE_FIELDS if k in r})
            text = " ".join([f"T{s.get('term', '?')}", s.get("role", "?")] + [
                f"{name}={s[key]}" for key, name in (("log_len", "log"), ("commit", "commit"),
                                                     ("applied", "applied")) if key in s])
            if s.get("_text") != text:
                s["_text"] = text
                out.append(Line(t, where(peer), "STATE", text))
        elif kind == "rpc":
            c = calls.get(r.get("id"))
            if c is None or c.sender is None:
                continue
            topic = "HEARTBEAT" if c.is_heartbeat else "RPC"
            m = model.short_method(c.method)
            phase = r.get("phase")
            if phase == "send":
                out.append(Line(t, where(c.sender), topic, f"-> {c.receiver} {m} {model.args_text(c)}"))
            elif phase == "reply":
                out.append(Line(t, where(c.sender), topic,
                                f"<- {c.receiver} {m} reply {model.reply_text(c)}"))
            elif phase == "lost":
                out.append(Line(t, where(c.sender), topic, f"x  {c.receiver} {m} lost: {c.why}"))
        elif kind == "op":
            client = str(r.get("client"))
            if client in index:
                verb = "call" if r.get("phase") == "call" else "return"
                detail = f"{r.get('op')} {r.get('key')!r}"
                if r.get("phase") == "call" and r.get("op") != "get":
                    detail += f" {r.get('value')!r}"
                if r.get("phase") == "return" and r.get("op") == "get":
                    detail += f" -> {r.get('output')!r}"
                out.append(Line(t, index[client], "OP", f"{verb} {detail}"))
        elif kind == "violation":
            out.append(Line(t, None, "FIRST BAD", f"violation: {r.get('what')}"))
        elif kind == "failure":
            out.append(Line(t, None, "FAILURE",
                            f"FAILED: {r.get('text')} ({r.get('file', '?')}:{r.get('line', '?')})"))
    return out


def render(trace: Trace, width: int = 160, topics: Optional[Iterable[str]] = None,
           peers: Optional[Iterable[str]] = None, t_from: Optional[float] = None,
           t_to: Optional[float] = None) -> list:
    """The view as (text, style spans) lines: a list of (str, [(start, end, style)])."""
    topics = None if topics is None else {x.upper() for x in topics}
    shown_peers = [p for p in trace.peers if peers is None or p in set(peers)]
    cols = shown_peers + [c for c in trace.clients if peers is None or c in set(peers)]
    if not cols:
        cols = list(trace.peers)
    time_w = 9
    col_w = max(12, (width - time_w) // max(len(cols), 1) - 1)
    out = []
    head = f"{trace.title}: " + "  ".join(
        f"{k}={v}" for k, v in trace.run.items() if k in ("runtime", "replay"))
    out.append((head[:width], [(0, min(len(head), width), "bold")]))
    for w in trace.warnings:
        out.append((f"note: {w}"[:width], []))
    header = " " * time_w + "".join(
        ((("peer " if i < len(shown_peers) else "") + name)[:col_w].ljust(col_w) + " ")
        for i, name in enumerate(cols))
    out.append((header.rstrip(), [(0, len(header.rstrip()), "bold underline")]))
    for line in _lines(trace, cols):
        if t_from is not None and line.t < t_from:
            continue
        if t_to is not None and line.t > t_to:
            continue
        always = line.topic in ("FAILURE", "FIRST BAD")
        if not always and topics is not None and line.topic.upper() not in topics:
            continue
        stamp = f"{line.t / 1e6:8.3f} "
        style = topic_style(line.topic)
        if line.col is None:
            text = f"{stamp}== {line.text} "
            text = text + "=" * max(0, width - len(text)) if len(text) < width else text[:width]
            out.append((text, [(len(stamp), len(text), style)]))
            continue
        if not 0 <= line.col < len(cols):
            continue
        x = time_w + line.col * (col_w + 1)
        for k, piece in enumerate(textwrap.wrap(line.text, col_w) or [""]):
            prefix = stamp if k == 0 else " " * time_w
            text = prefix + " " * (x - time_w) + piece
            out.append((text, [(x, len(text), style)]))
    return out


def write(trace: Trace, out=None, color: str = "auto", width: Optional[int] = None, **filters) -> None:
    """Prints the view to out (stdout): in colour on a terminal (or with
    color="always"), plain when piped or with color="never"."""
    out = out or sys.stdout
    rich = _import_rich()
    is_tty = hasattr(out, "isatty") and out.isatty()
    use_color = color == "always" or (color == "auto" and is_tty)
    if rich is None:
        if use_color:
            print("columns: python3-rich is not installed (tools/bootstrap.sh installs it); "
                  "printing without colours", file=sys.stderr)
        use_color = False
    if width is None:
        width = shutil.get_terminal_size((160, 40)).columns if is_tty else 160
    lines = render(trace, width=width, **filters)
    if not use_color:
        for text, _ in lines:
            out.write(text + "\n")
        return
    from rich.console import Console
    from rich.text import Text
    console = Console(file=out, force_terminal=True, width=width + 1, highlight=False,
                      color_system="256" if color == "always" and not is_tty else "auto")
    for text, spans in lines:
        t = Text(text, no_wrap=True)
        for start, end, style in spans:
            t.stylize(style, start, end)
        console.print(t, soft_wrap=True)
