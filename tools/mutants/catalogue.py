# tools/mutants/catalogue.py
#
# The mutant catalogue: realistic student bugs, each a small patch of the
# reference solution, one TOML file per mutant in tools/mutants/catalogue/
# (the file's name is the mutant's name). The format, and why it is not a
# diff: tools/mutants/README.md.
#
#   mutants = catalogue.load(Path("tools/mutants/catalogue"))
#   text = catalogue.apply(mutants[0], Path("raft/raft.cc").read_text())
#
# A malformed file raises CatalogueError ("path: what is wrong"); a patch
# whose snippet is not in the file exactly once raises DoesNotApply, naming
# the mutant, so a changed reference is reported, never silently skipped.

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = {"description", "rule", "file", "edit", "equivalent"}
_EDIT_KEYS = {"find", "replace"}


class CatalogueError(Exception):
    """A malformed mutant file; str() is "path: what is wrong"."""


class DoesNotApply(Exception):
    """The mutant's patch does not fit the current reference."""

    def __init__(self, name: str, why: str):
        super().__init__(f"{name} does not apply: {why}")
        self.name = name
        self.why = why


@dataclasses.dataclass(frozen=True)
class Edit:
    find: str  # exact text, found exactly once in the file
    replace: str


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    description: str  # the bug, in one line
    rule: str  # the rule it breaks
    file: str  # the student file it patches, from the top of the tree
    edits: tuple
    equivalent: str | None  # why it cannot be killed, if it cannot
    path: Path


def _text(data: dict, key: str, path: Path, required=True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{path}: '{key}' must be a non-empty string")
    if key != "file" and "\n" in value.strip():
        raise CatalogueError(f"{path}: '{key}' must be one line")
    return value.strip()


def load_file(path: Path) -> Mutant:
    path = Path(path)
    name = path.stem
    if not _NAME_RE.match(name):
        raise CatalogueError(f"{path}: a mutant's name (its file name) is lower_snake_case")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CatalogueError(f"{path}: {e}") from None
    unknown = set(data) - _KEYS
    if unknown:
        raise CatalogueError(f"{path}: unknown key '{sorted(unknown)[0]}' "
                             f"(known: {', '.join(sorted(_KEYS))})")
    edits = data.get("edit")
    if not isinstance(edits, list) or not edits:
        raise CatalogueError(f"{path}: a mutant needs at least one [[edit]]")
    parsed = []
    for i, edit in enumerate(edits, start=1):
        if not isinstance(edit, dict) or set(edit) != _EDIT_KEYS:
            raise CatalogueError(f"{path}: [[edit]] #{i} must have exactly 'find' and 'replace'")
        find, replace = edit["find"], edit["replace"]
        if not isinstance(find, str) or not isinstance(replace, str) or not find.strip():
            raise CatalogueError(f"{path}: [[edit]] #{i}: 'find' is non-empty text, "
                                 "'replace' is text (may be empty)")
        if find == replace:
            raise CatalogueError(f"{path}: [[edit]] #{i} replaces its text with itself")
        parsed.append(Edit(find, replace))
    return Mutant(name=name, description=_text(data, "description", path),
                  rule=_text(data, "rule", path), file=_text(data, "file", path),
                  edits=tuple(parsed), equivalent=_text(data, "equivalent", path, required=False),
                  path=path)


def load(directory: Path) -> list:
    """Every mutant in `directory` (its *.toml files), sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CatalogueError(f"{directory}: no such catalogue folder")
    mutants = [load_file(p) for p in sorted(directory.glob("*.toml"))]
    if not mutants:
        raise CatalogueError(f"{directory}: the catalogue is empty")
    return mutants


def apply(mutant: Mutant, text: str) -> str:
    """`text` (the reference file) with the mutant's edits made, in order."""
    original = text
    for i, edit in enumerate(mutant.edits, start=1):
        count = text.count(edit.find)
        if count != 1:
            where = "is not in" if count == 0 else f"occurs {count} times in"
            first = edit.find.strip().splitlines()[0].strip()
            raise DoesNotApply(mutant.name, f"the text of [[edit]] #{i} {where} {mutant.file} "
                                            f"(it starts: {first!r})")
        text = text.replace(edit.find, edit.replace, 1)
    if text == original:
        raise DoesNotApply(mutant.name, f"its edits leave {mutant.file} unchanged")
    return text
