# tools/trace/records.py
#
# Reads a trace (JSON Lines, trace/SCHEMA.md, version 1) into a Trace: the
# records the viewers know, in `seq` order, with the `run`, `failure` and
# `end` records picked out.
#
#   trace = records.load("run.jsonl")      # raises TraceError on a bad file
#   for r in trace.records: ...            # dicts, as in the file
#
# What it tolerates, as the schema asks: kinds it does not know (skipped and
# counted), a trace that starts mid-run (no `run` record, replies without
# their sends), and a last line cut short by a crash (dropped, with a
# warning). What it refuses, naming the line: a line that is not a JSON
# object, a record without `kind`/`t`/`seq`, another schema version.

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Iterable, Optional

SCHEMA_VERSION = 1

KNOWN_KINDS = frozenset(
    ["run", "log", "tester", "state", "rpc", "apply", "op", "violation", "failure", "end"])


class TraceError(Exception):
    """The file is not a trace this reader can show."""


@dataclasses.dataclass
class Trace:
    run: dict                  # the `run` record ({} if the trace starts mid-run)
    records: list              # known kinds, sorted by seq
    peers: list                # peer names in index order
    clients: list              # clerk names
    failure: Optional[dict]    # the first `failure` record, if any
    end: Optional[dict]
    skipped_kinds: dict        # unknown kind -> count
    warnings: list             # things the reader tolerated, for the viewer to show

    @property
    def t_end(self) -> int:
        return max((r["t"] for r in self.records), default=0)

    @property
    def title(self) -> str:
        test = self.run.get("test", "trace")
        seed = self.run.get("seed")
        return f"{test} (seed {seed})" if seed is not None else test


def _natural_key(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def parse_lines(lines: Iterable[str], source: str = "trace") -> Trace:
    """Parses the lines of a trace file (each with or without its newline)."""
    lines = list(lines)
    records = []
    skipped: dict = {}
    warnings = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if number == len(lines) and not line.endswith("\n"):
                warnings.append(f"{source}: the last line (line {number}) is cut short; left out")
                continue
            raise TraceError(f"{source}:{number}: not JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(record, dict):
            raise TraceError(f"{source}:{number}: a record must be a JSON object")
        for field, kind in (("kind", str), ("t", int), ("seq", int)):
            if not isinstance(record.get(field), kind) or isinstance(record.get(field), bool):
                raise TraceError(
                    f"{source}:{number}: record without a valid `{field}` "
                    f"({kind.__name__} expected): {line.strip()[:120]}")
        kind = record["kind"]
        if kind == "run" and record.get("schema") != SCHEMA_VERSION:
            raise TraceError(
                f"{source}:{number}: trace schema {record.get('schema')!r}; this viewer reads "
                f"schema {SCHEMA_VERSION} (trace/SCHEMA.md)")
        if kind not in KNOWN_KINDS:
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        records.append(record)
    if not records:
        raise TraceError("; ".join([f"{source}: no records"] + warnings))
    records.sort(key=lambda r: r["seq"])
    run = next((r for r in records if r["kind"] == "run"), None)
    if run is None:
        warnings.append(f"{source}: no `run` record (the trace starts mid-run)")
        run = {}
    failure = next((r for r in records if r["kind"] == "failure"), None)
    end = next((r for r in records if r["kind"] == "end"), None)
    if end and end.get("dropped"):
        warnings.append(f"{source}: {end['dropped']} earlier records fell out of the ring")
    clients = list(run.get("clients") or [])
    for r in records:
        if r["kind"] == "op" and r.get("client") and r["client"] not in clients:
            clients.append(r["client"])
    return Trace(run=run, records=records, peers=_peers(run, records), clients=clients,
                 failure=failure, end=end, skipped_kinds=skipped, warnings=warnings)


def _peers(run: dict, records: list) -> list:
    """The run's peers; for a trace without a `run` record, every name seen as one."""
    if run.get("peers"):
        return [str(p) for p in run["peers"]]
    seen = set()
    for r in records:
        if r["kind"] in ("state", "apply") and "peer" in r:
            seen.add(str(r["peer"]))
        elif r["kind"] == "rpc" and r.get("phase") == "send":
            seen.update(str(r[k]) for k in ("from", "to") if k in r)
    seen -= {"tester"}
    seen = {s for s in seen if not s.startswith("clerk")}
    return sorted(seen, key=_natural_key)


def load(path) -> Trace:
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return parse_lines(f, source=str(path))
    except UnicodeDecodeError as e:
        raise TraceError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise TraceError(f"{path}: {e.strerror}") from None
