# handout_tool/leaks.py
#
# Checks that a student file, as the handout will give it, reads as the
# student's own: the text left after stripping (everything outside the
# solution regions, and the regions' `// HANDOUT:` bodies) must not show the
# reference solution. Two rules:
#
#   - no word that belongs to the instructor's tree (BANNED: "reference"),
#     as in a file header that still describes the reference's design;
#   - no whole-line comment of WORDS words or more that also sits inside a
#     solution region: a design note copied out of a region, into the header
#     or a HANDOUT body, gives the solution away.
#
#   problems = leaks.find(source, "raft/raft.cc")  # ["raft/raft.cc:3: ...", ...]
#
# Line numbers are the source file's (the instructor's). The source must
# have valid markers (markers.strip checks them first).

from __future__ import annotations

import re

from handout_tool import markers

BANNED = re.compile(r"\breference\b", re.IGNORECASE)
WORDS = 5


def _comment(line: str):
    """The words of a whole-line `//` comment, normalized, or None."""
    body = line.strip()
    if not body.startswith("//"):
        return None
    return " ".join(body[2:].split())


def _handout_lines(source: str):
    """(line number, text) of what the handout keeps, and of what the regions hold."""
    kept, hidden = [], []
    depth = 0
    for number, line in enumerate(source.splitlines(), start=1):
        h = markers._HANDOUT.match(line)
        if h is not None:
            kept.append((number, h.group(2) or ""))
        elif markers._BEGIN.match(line):
            depth += 1
        elif markers._END.match(line):
            depth -= 1
        else:
            (hidden if depth else kept).append((number, line))
    return kept, hidden


def find(source: str, path: str) -> list:
    """Problems, each "path:line: what", in line order."""
    kept, hidden = _handout_lines(source)
    inside = {}
    for number, line in hidden:
        words = _comment(line)
        if words is not None and len(words.split()) >= WORDS:
            inside.setdefault(words, number)
    problems = []
    for number, line in kept:
        m = BANNED.search(line)
        if m is not None:
            problems.append(f"{path}:{number}: the handout would say {m.group(0)!r} here: "
                            "move notes about the solution inside a solution region")
            continue
        words = _comment(line)
        if words is not None and words in inside:
            problems.append(f"{path}:{number}: the handout would repeat the comment of the "
                            f"solution region at line {inside[words]}: {line.strip()[:60]!r}")
    return problems
