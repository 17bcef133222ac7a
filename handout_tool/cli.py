# handout_tool/cli.py
#
# ./handout's command line: writes the student tree to OUT_DIR (see
# handout_tool/make.py), then checks it (handout_tool/check.py). `./handout --help`
# documents it. Exit status: 0 when written and checked, 1 when the check
# found problems, 2 for bad usage or marker errors (nothing written then).

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grader import rubric
from handout_tool import check as check_lib
from handout_tool import make
from handout_tool import markers

ROOT = Path(__file__).resolve().parent.parent

HELP = """\
Usage: ./handout [--force] [--no-check] OUT_DIR

Writes the student tree to OUT_DIR (which must not exist or be empty, and be
outside this tree):
  - the student-editable files (labs/student_files.txt) with every solution
    region stripped: `// BEGIN SOLUTION <part>` ... `// END SOLUTION` becomes
    the region's `// HANDOUT: <code>` lines, or `// Your code here (<part>)`;
  - every other file as it is, except the instructor-only ones
    (labs/instructor_only.txt), .git/ and Bazel's links;
  - labs/STUDENT_README.md as README.md.
Unbalanced, unknown or misspelt markers are an error naming the file and
line, and nothing is written. So is a student file that would still show
the reference solution outside its regions: the word "reference", or a
comment line that a solution region also holds (notes about the solution
belong inside the regions).

Then it checks the handout: it must build (bazel build //... there), and its
own ./grade, run on every test once in the sim runtime, must fail each test
cleanly (a failed assertion, within the time limit; no crash, no hang). The
Bazel server it started in OUT_DIR is shut down afterwards.

Options:
  --force       replace the contents of a non-empty OUT_DIR
  --no-check    write the tree but do not build or grade it
  -h, --help    this text

Round trip: `./grade --submission DIR` run in OUT_DIR with this tree's
student files in DIR gives the reference solution's full marks.
"""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="./handout", add_help=False, allow_abbrev=False)
    p.add_argument("out", nargs="?")
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("--force", action="store_true")
    p.add_argument("--no-check", action="store_true")

    def error(message):
        print(f"./handout: {message}\n(./handout --help for usage)", file=sys.stderr)
        sys.exit(2)

    p.error = error
    args = p.parse_args(argv)
    if args.help:
        print(HELP, end="")
        return 0
    if not args.out:
        error("give the folder to write the handout to (OUT_DIR)")
    out = Path(args.out)
    try:
        catalogue = rubric.load_catalogue(ROOT / "labs")
        student_files = rubric.load_student_files(ROOT / "labs" / "student_files.txt", set(catalogue))
        patterns = rubric.load_patterns(ROOT / "labs" / "instructor_only.txt")
        make.check_out_dir(ROOT, out, args.force)
        plan = make.plan_handout(ROOT, catalogue, student_files, patterns)
    except (rubric.RubricError, markers.MarkerError, make.HandoutError) as e:
        print(f"./handout: {e}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    make.write_handout(plan, out)
    print(f"handout: wrote {out} ({len(plan.copies) + len(plan.stripped) + 1} files) "
          f"in {time.monotonic() - t0:.1f} s")
    for rel, counts in plan.regions.items():
        regions = ", ".join(f"{n} of {part}" for part, n in sorted(counts.items())) or "none"
        print(f"  stripped {rel}: regions {regions}")
    for rel in plan.skipped_students:
        print(f"  note: student file {rel} is not in this tree (skipped)")
    if plan.left_out:
        print(f"  left out (instructor-only): {', '.join(plan.left_out)}")
    print("  README.md <- labs/STUDENT_README.md")
    if args.no_check:
        print("handout: not checked (--no-check)")
        return 0
    t1 = time.monotonic()
    problems, summary = check_lib.check_handout(out, catalogue, log=print)
    for line in summary:
        print(f"  {line}")
    if problems:
        print(f"handout: the check found {len(problems)} problem(s) "
              f"({time.monotonic() - t1:.0f} s):")
        for prob in problems:
            print("  - " + prob.replace("\n", "\n    "))
        return 1
    print(f"handout: checked in {time.monotonic() - t1:.0f} s: it builds, and every test "
          "fails cleanly on the skeleton")
    return 0
