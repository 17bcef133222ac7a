# grader/__main__.py: `python3 -m grader` is ./grade (see grader/cli.py).
import sys

from grader import cli

try:
    sys.exit(cli.main())
except BrokenPipeError:  # e.g. ./grade --list | head
    sys.stderr.close()
    sys.exit(1)
