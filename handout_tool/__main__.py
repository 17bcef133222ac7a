# handout_tool/__main__.py: `python3 -m handout_tool` is ./handout (see handout_tool/cli.py).
import sys

from handout_tool import cli

sys.exit(cli.main())
