# grader/rubric.py
#
# Reads the lab catalogue in labs/: one rubric per part (labs/<part>/rubric.toml:
# the part's Bazel test target, its tests, their points and time limits, and
# the parts it builds on) and the file lists (labs/student_files.txt,
# labs/instructor_only.txt). The formats are described in labs/README.md.
#
#   catalogue = rubric.load_catalogue(Path("labs"))   # {"2A": Part, ...}
#   catalogue["2B"].tests[0].limit("sim")             # seconds
#
# Anything malformed raises RubricError, whose message starts with
# "file:line:" so an instructor can go straight to the mistake.

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

RUNTIMES = ("sim", "threads")

_PART_RE = re.compile(r"^[0-9]+[A-Z]$")
_TARGET_RE = re.compile(r"^//[A-Za-z0-9_/.-]*:[A-Za-z0-9_.-]+$")
_TEST_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9]*$")
_TOP_KEYS = {"part", "title", "target", "requires", "limits", "cpu_budget", "race", "tests"}
_TEST_KEYS = {"name", "points", "limits", "cpu_budget"}


class RubricError(Exception):
    """A malformed rubric or file list; str() is "file:line: what is wrong"."""

    def __init__(self, path: Path | str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message


@dataclasses.dataclass(frozen=True)
class Test:
    name: str  # "Raft2A.InitialElection"
    points: float
    limits: dict  # runtime -> seconds of wall-clock time per run
    line: int
    cpu_budget: float | None = None  # CPU seconds of a whole sim run, or no budget

    def limit(self, runtime: str) -> float:
        return self.limits[runtime]


@dataclasses.dataclass(frozen=True)
class Part:
    name: str  # "2A"
    title: str
    target: str  # "//raft:raft_test"
    requires: tuple
    tests: tuple
    path: Path
    race: bool = False  # always graded in race mode (ThreadSanitizer; grader/race.py)

    @property
    def max_points(self) -> float:
        return sum(t.points for t in self.tests)


@dataclasses.dataclass(frozen=True)
class ListedFile:
    path: str  # relative to the top of the tree
    parts: tuple
    line: int


class _Lines:
    """Finds the line of a key in a TOML file: top-level or in [[tests]] #i."""

    def __init__(self, text: str):
        self.keys = {}  # (table index or None, key) -> line
        self.tables = []  # line of each [[tests]] header
        table = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if re.match(r"^\[\[\s*tests\s*\]\]", line):
                self.tables.append(number)
                table = len(self.tables) - 1
            elif line.startswith("["):
                table = ("other", number)
            else:
                m = re.match(r'^"?([A-Za-z0-9_-]+)"?\s*=', line)
                if m:
                    self.keys.setdefault((table, m.group(1)), number)

    def key(self, key: str, table=None) -> int:
        if (table, key) in self.keys:
            return self.keys[(table, key)]
        return self.table(table) if table is not None else 1

    def table(self, index) -> int:
        if isinstance(index, int) and index < len(self.tables):
            return self.tables[index]
        return 1


def _limits(value, path, line, inherited=None) -> dict:
    if not isinstance(value, dict):
        raise RubricError(path, line, "limits must be a table such as { sim = 60, threads = 180 }")
    unknown = set(value) - set(RUNTIMES)
    if unknown:
        raise RubricError(path, line, f"limits: unknown runtime {sorted(unknown)[0]!r} "
                                      f"(use {' and '.join(RUNTIMES)})")
    out = dict(inherited or {})
    for runtime, seconds in value.items():
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
            raise RubricError(path, line, f"limits.{runtime} must be a positive number of seconds, "
                                          f"not {seconds!r}")
        out[runtime] = float(seconds)
    missing = [r for r in RUNTIMES if r not in out]
    if missing:
        raise RubricError(path, line, f"limits: no time limit for runtime {missing[0]!r}")
    return out


def _cpu_budget(value, path, line):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise RubricError(path, line, f"cpu_budget must be a positive number of CPU seconds, "
                                      f"not {value!r}")
    return float(value)


def load_part(path: Path) -> Part:
    """Reads and checks one labs/<part>/rubric.toml."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RubricError(path, 1, f"cannot read: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = int(m.group(1)) if m else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise RubricError(path, line, f"not valid TOML: {message}") from None
    lines = _Lines(text)

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise RubricError(path, lines.key(unknown[0]), f"unknown key {unknown[0]!r} "
                                                      f"(expected: {', '.join(sorted(_TOP_KEYS))})")
    for key in ("part", "title", "target", "limits", "tests"):
        if key not in data:
            raise RubricError(path, 1, f"missing key {key!r}")
    for key in ("part", "title", "target"):
        if not isinstance(data[key], str):
            raise RubricError(path, lines.key(key), f"{key} must be a string")
    name = data["part"]
    if not _PART_RE.match(name):
        raise RubricError(path, lines.key("part"), f"part {name!r} is not a part name such as \"2A\"")
    if path.parent.name != name:
        raise RubricError(path, lines.key("part"),
                          f"part {name!r} does not match its folder {path.parent.name!r}")
    if not _TARGET_RE.match(data["target"]):
        raise RubricError(path, lines.key("target"),
                          f"target {data['target']!r} is not a Bazel label such as \"//raft:raft_test\"")
    requires = data.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise RubricError(path, lines.key("requires"), "requires must be a list of part names")
    for r in requires:
        if not _PART_RE.match(r):
            raise RubricError(path, lines.key("requires"), f"requires: {r!r} is not a part name")
    limits = _limits(data["limits"], path, lines.key("limits"))
    part_budget = None
    if "cpu_budget" in data:
        part_budget = _cpu_budget(data["cpu_budget"], path, lines.key("cpu_budget"))
    race = data.get("race", False)
    if not isinstance(race, bool):
        raise RubricError(path, lines.key("race"), "race must be true or false")

    raw_tests = data["tests"]
    if not isinstance(raw_tests, list) or not raw_tests:
        raise RubricError(path, lines.key("tests"), "a part needs at least one [[tests]] entry")
    tests = []
    seen = set()
    for i, entry in enumerate(raw_tests):
        where = lines.table(i)
        if not isinstance(entry, dict):
            raise RubricError(path, where, "each test must be a [[tests]] table")
        unknown = sorted(set(entry) - _TEST_KEYS)
        if unknown:
            raise RubricError(path, lines.key(unknown[0], i),
                              f"unknown key {unknown[0]!r} in a test "
                              f"(expected: {', '.join(sorted(_TEST_KEYS))})")
        if "name" not in entry:
            raise RubricError(path, where, "test without a name")
        test_name = entry["name"]
        if not isinstance(test_name, str) or not _TEST_RE.match(test_name):
            raise RubricError(path, lines.key("name", i),
                              f"test name {test_name!r} is not Suite.Name (e.g. \"Raft2A.ReElection\")")
        if test_name in seen:
            raise RubricError(path, lines.key("name", i), f"test {test_name} is listed twice")
        seen.add(test_name)
        if "points" not in entry:
            raise RubricError(path, where, f"test {test_name} has no points")
        points = entry["points"]
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise RubricError(path, lines.key("points", i),
                              f"points of {test_name} must be a number >= 0, not {points!r}")
        test_limits = limits
        if "limits" in entry:
            test_limits = _limits(entry["limits"], path, lines.key("limits", i), inherited=limits)
        budget = part_budget
        if "cpu_budget" in entry:
            budget = _cpu_budget(entry["cpu_budget"], path, lines.key("cpu_budget", i))
        tests.append(Test(test_name, float(points), test_limits, lines.key("name", i), budget))
    return Part(name, data["title"], data["target"], tuple(requires), tuple(tests), path, race)


def load_catalogue(labs_dir: Path) -> dict:
    """Every labs/<part>/rubric.toml, ordered by part name; checks the requires graph."""
    parts = {}
    for path in sorted(labs_dir.glob("*/rubric.toml")):
        part = load_part(path)
        parts[part.name] = part
    owners = {}
    for part in parts.values():
        for test in part.tests:
            if test.name in owners:
                raise RubricError(part.path, test.line,
                                  f"test {test.name} is already in part {owners[test.name]}")
            owners[test.name] = part.name
    for part in parts.values():
        line = _Lines(part.path.read_text(encoding="utf-8")).key("requires")
        for r in part.requires:
            if r not in parts:
                raise RubricError(part.path, line, f"requires unknown part {r!r} "
                                                   f"(known: {', '.join(parts) or 'none'})")
        if part.name in requirements(parts, part.name):
            raise RubricError(part.path, line, f"part {part.name} requires itself (a cycle)")
    return parts


def requirements(parts: dict, name: str) -> list:
    """Every part that `name` builds on, directly or not (in catalogue order)."""
    seen = set()
    stack = list(parts[name].requires)
    while stack:
        r = stack.pop()
        if r in seen or r not in parts:
            continue
        seen.add(r)
        stack.extend(parts[r].requires)
    return [p for p in parts if p in seen]


def _list_lines(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RubricError(path, 1, f"cannot read: {e.strerror}") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            yield number, line


def load_student_files(path: Path, known_parts=None) -> list:
    """labs/student_files.txt: `path part...` per line."""
    out = []
    seen = set()
    for number, line in _list_lines(path):
        fields = line.split()
        rel = fields[0]
        if rel.startswith("/") or ".." in Path(rel).parts or "\\" in rel:
            raise RubricError(path, number, f"{rel!r} must be a relative path inside the tree")
        if rel in seen:
            raise RubricError(path, number, f"{rel} is listed twice")
        seen.add(rel)
        parts = tuple(fields[1:])
        for p in parts:
            if not _PART_RE.match(p) or (known_parts is not None and p not in known_parts):
                raise RubricError(path, number, f"{p!r} is not a known part")
        out.append(ListedFile(rel, parts, number))
    if not out:
        raise RubricError(path, 1, "no files listed")
    return out


def load_patterns(path: Path) -> list:
    """labs/instructor_only.txt: one fnmatch pattern per line."""
    return [(number, line) for number, line in _list_lines(path)]
