# tools/trace/columns_test.py
#
# The terminal view: its whole output on a small trace against a golden
# file, the filters (--topics, --peers, --from/--to), plain output when piped
# or with --color never, colours with --color always, and the CLI.
#
# After a deliberate change to the view, rewrite the golden file with
#   UPDATE_GOLDEN=1 python3 -m tools.trace.columns_test

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import unittest
from pathlib import Path

from tools.trace import columns, records, view

TESTDATA = Path(__file__).resolve().parent / "testdata"
SMALL = TESTDATA / "small.jsonl"
GOLDEN = TESTDATA / "small_columns.txt"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(trace, **options) -> str:
    out = io.StringIO()
    columns.write(trace, out, color="never", width=120, **options)
    return out.getvalue()


class ColumnsTest(unittest.TestCase):
    def setUp(self):
        self.trace = records.load(SMALL)

    def test_golden_output(self):
        text = plain(self.trace)
        if os.environ.get("UPDATE_GOLDEN"):
            GOLDEN.write_text(text)
        self.assertEqual(text, GOLDEN.read_text())

    def test_lines_sit_in_their_peers_column(self):
        lines = plain(self.trace).splitlines()
        header = lines[1]
        col = {p: header.index(f"peer {p}") for p in "012"}
        vote = next(line for line in lines if "VOTE granted vote to 1" in line)
        self.assertEqual(vote.index("VOTE"), col["0"])
        lead = next(line for line in lines if "LEAD won term 1" in line)
        self.assertEqual(lead.index("LEAD"), col["1"])
        lost = next(line for line in lines if "lost: request dropped" in line)
        self.assertEqual(lost.index("x  2 RV"), col["1"])

    def test_topics_filter_keeps_the_failure(self):
        text = plain(self.trace, topics=["vote"])
        self.assertIn("VOTE granted vote to 1", text)
        self.assertNotIn("LEAD won", text)
        self.assertNotIn("-> 0 RV", text)
        self.assertIn("FAILED: apply error", text)
        self.assertIn("first bad moment: applied values disagree at index 1", text)

    def test_peers_filter_drops_other_columns(self):
        text = plain(self.trace, peers=["2"])
        self.assertIn("peer 2", text)
        self.assertNotIn("peer 0", text)
        self.assertNotIn("VOTE granted", text)  # peer 0's line
        self.assertIn("TIMER heartbeat from 1", text)

    def test_time_filters(self):
        text = plain(self.trace, t_from=1.0e6, t_to=1.5e6)
        stamps = [float(m) for m in re.findall(r"^ +(\d+\.\d{3}) ", text, re.M)]
        self.assertTrue(stamps)
        self.assertTrue(all(1.0 <= s <= 1.5 for s in stamps), stamps)

    def test_piped_output_is_plain_and_always_is_coloured(self):
        piped = io.StringIO()  # not a terminal
        columns.write(self.trace, piped, color="auto", width=120)
        self.assertNotRegex(piped.getvalue(), ANSI)
        coloured = io.StringIO()
        columns.write(self.trace, coloured, color="always", width=120)
        self.assertRegex(coloured.getvalue(), ANSI)
        self.assertEqual(ANSI.sub("", coloured.getvalue()), piped.getvalue())

    def test_recorded_trace(self):
        trace = records.load(TESTDATA / "broken_vote_reelection.jsonl")
        lines = plain(trace).splitlines()
        self.assertIn("peer raft-0", lines[1])
        failed = [line for line in lines if "== FAILED: one vote per term violated" in line]
        self.assertEqual(len(failed), 1)
        # The monitor's finding and the failure share an instant: no separate first bad moment.
        self.assertFalse(any("first bad moment" in line for line in lines))

    def test_a_failed_check_is_marked(self):
        check = {"kind": "tester", "t": 2400000, "seq": 99, "event": "check", "what": "one(cmd=5)",
                 "result": "no agreement", "ok": False}
        trace = records.parse_lines(SMALL.read_text().splitlines(keepends=True) + [json.dumps(check) + "\n"])
        self.assertIn("== check one(cmd=5): no agreement (FAILED) ==", plain(trace))
        self.assertNotIn("checkOneLeader: leader 1 (FAILED)", plain(trace))

    def test_cli(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = view.main(["--columns", "--color", "never", "--width", "120", "--topics",
                                "LEAD,TESTER", "--peers", "0,1", "--from", "400ms", "--to", "1.2s",
                                str(SMALL)])
        self.assertEqual(status, 0)
        self.assertIn("LEAD won term 1", out.getvalue())
        self.assertIn("partition 0,1 | 2", out.getvalue())
        self.assertNotIn("crash 0", out.getvalue())

    def test_cli_names_an_unreadable_trace(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = view.main(["/nonexistent.jsonl"])
        self.assertEqual(status, 2)
        self.assertIn("trace view: /nonexistent.jsonl: No such file", err.getvalue())


if __name__ == "__main__":
    unittest.main()
