# handout_tool/markers.py
#
# Strips solution regions from a student-editable file. A region is
#
#     // BEGIN SOLUTION 2A
#     ...the reference code...
#     // END SOLUTION
#     // HANDOUT: return {0, false};      (optional: the handout's body)
#
# Regions nest (a 2D region inside a 2B one goes with it). A stripped region
# becomes its `// HANDOUT:` lines, uncommented at their own indentation (one
# space after the colon is dropped, so `// HANDOUT:   x` keeps two spaces of
# x's indentation), or, without any, the line `// Your code here (2A)` at the
# BEGIN line's indentation. Marker lines are whole lines; `// END SOLUTION 2A`
# may repeat the part, which must then match.
#
#   text, counts = strip(source, known_parts={"2A", "2B"}, path="raft/raft.cc")
#
# Anything unbalanced, unknown or misspelt raises MarkerError, whose message
# starts with "path:line:".

from __future__ import annotations

import collections
import re

_LOOSE = re.compile(r"^\s*//\s*(BEGIN\s+SOLUTION|END\s+SOLUTION|HANDOUT)\b", re.IGNORECASE)
_BEGIN = re.compile(r"^(\s*)// BEGIN SOLUTION (\S+)\s*$")
_END = re.compile(r"^\s*// END SOLUTION(?: (\S+))?\s*$")
_HANDOUT = re.compile(r"^(\s*)// HANDOUT:(?: (.*))?$")


class MarkerError(Exception):
    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


def strip(text: str, known_parts=None, path: str = "<text>"):
    """Returns (stripped text, Counter of regions per part)."""
    out = []
    stack = []  # (part, indent, line number) of the open regions
    counts = collections.Counter()
    # After a region closes, its HANDOUT lines (if any) follow at once.
    pending = None  # (indent, part, nested) of the region that just closed
    handout = []

    def close_pending():
        nonlocal pending, handout
        if pending is not None:
            indent, part, nested = pending
            if not nested:
                if handout:
                    out.extend(handout)
                else:
                    out.append(f"{indent}// Your code here ({part})\n")
            pending = None
            handout = []

    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        body = line.rstrip("\r\n")
        ending = line[len(body):] or "\n"
        h = _HANDOUT.match(body)
        if h is not None:
            if pending is None:
                raise MarkerError(path, number, "// HANDOUT: line that does not follow "
                                                "// END SOLUTION (or another HANDOUT line)")
            code = h.group(2) or ""
            handout.append((h.group(1) + code if code else "") + ending)
            continue
        close_pending()
        if _LOOSE.match(body) is None:
            if not stack:
                out.append(line)
            continue
        b = _BEGIN.match(body)
        e = _END.match(body)
        if b is not None:
            part = b.group(2)
            if known_parts is not None and part not in known_parts:
                raise MarkerError(path, number, f"unknown part {part!r} in BEGIN SOLUTION "
                                                f"(known: {', '.join(sorted(known_parts))})")
            stack.append((part, b.group(1), number))
            counts[part] += 1
        elif e is not None:
            if not stack:
                raise MarkerError(path, number, "// END SOLUTION without a BEGIN SOLUTION")
            part, indent, _ = stack.pop()
            if e.group(1) is not None and e.group(1) != part:
                raise MarkerError(path, number, f"// END SOLUTION {e.group(1)} closes the "
                                                f"region of part {part}")
            pending = (indent, part, bool(stack))
        else:
            raise MarkerError(path, number, f"malformed marker {body.strip()!r} (write "
                                            "`// BEGIN SOLUTION 2A`, `// END SOLUTION` or "
                                            "`// HANDOUT: code`)")
    close_pending()
    if stack:
        part, _, number = stack[-1]
        raise MarkerError(path, number, f"BEGIN SOLUTION {part} is never closed")
    return "".join(out), counts


def has_markers(text: str) -> bool:
    return any(_LOOSE.match(line) for line in text.splitlines())
