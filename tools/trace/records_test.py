# tools/trace/records_test.py
#
# Reading traces: a whole trace, kinds the reader does not know (skipped and
# counted), a trace that starts mid-run (no `run` record, replies without
# sends: every view still draws it), a last line cut short (left out with a
# warning), and the files it refuses with a message naming the line.

from __future__ import annotations

import io
import json
import unittest
from pathlib import Path

from tools.trace import columns, model, page, perfetto, records, synth

SMALL = Path(__file__).resolve().parent / "testdata" / "small.jsonl"
# Written by the Raft tests (LAB_TRACE) for a Raft whose votes are not
# persisted (Raft2A.ReElection, seed 3).
RECORDED = Path(__file__).resolve().parent / "testdata" / "broken_vote_reelection.jsonl"


def lines_of(*dicts):
    return [json.dumps(d) + "\n" for d in dicts]


class ReadTest(unittest.TestCase):
    def test_reads_a_whole_trace(self):
        trace = records.load(SMALL)
        self.assertEqual(trace.peers, ["0", "1", "2"])
        self.assertEqual(trace.run["test"], "Raft2A.InitialElection")
        self.assertEqual(trace.failure["line"], 120)
        self.assertFalse(trace.end["passed"])
        self.assertEqual([r["seq"] for r in trace.records], sorted(r["seq"] for r in trace.records))

    def test_reads_a_recorded_trace(self):
        trace = records.load(RECORDED)
        self.assertEqual(trace.peers, ["raft-0", "raft-1", "raft-2"])
        self.assertEqual((trace.warnings, trace.skipped_kinds), ([], {}))
        self.assertIn("one vote per term violated", trace.failure["text"])
        calls = model.calls(trace)
        self.assertTrue(calls)
        self.assertTrue(all(c.sender in trace.peers for c in calls))
        self.assertTrue(any(c.why == "link cut" for c in calls))

    def test_unknown_kinds_are_skipped_and_counted(self):
        trace = records.load(SMALL)
        self.assertEqual(trace.skipped_kinds, {"future_kind": 1})
        self.assertNotIn("future_kind", {r["kind"] for r in trace.records})
        self.assertIn("skipped 1 records of unknown kind 'future_kind'",
                      page.build_data(trace)["warnings"])

    def test_rpc_phases_join_by_id(self):
        calls = {c.id: c for c in model.calls(records.load(SMALL))}
        self.assertEqual(calls[2].why, "request dropped")
        self.assertIsNone(calls[2].t_deliver)
        self.assertEqual(calls[3].held_back_ms, 1196)
        self.assertTrue(calls[3].is_heartbeat)

    def test_a_trace_starting_mid_run_is_shown(self):
        # The ring dropped the start: no `run` record, and a reply whose send is gone.
        trace = records.parse_lines(lines_of(
            {"kind": "rpc", "t": 5000, "seq": 900, "phase": "reply", "id": 41,
             "fields": {"term": 3, "success": True}},
            {"kind": "state", "t": 6000, "seq": 901, "peer": "2", "term": 3, "role": "leader"},
            {"kind": "rpc", "t": 7000, "seq": 902, "phase": "send", "id": 42, "from": "2",
             "to": "0", "method": "Raft.AppendEntries", "fields": {"term": 3, "entries": 1}},
            {"kind": "log", "t": 7000, "seq": 903, "peer": "0", "task": "t", "topic": "LOG",
             "text": "hello"}))
        self.assertEqual(trace.run, {})
        self.assertEqual(trace.peers, ["0", "2"])
        self.assertIn("starts mid-run", " ".join(trace.warnings))
        data = page.build_data(trace)
        self.assertEqual(len(data["rpcs"]), 1)  # the orphan reply is not drawn
        out = io.StringIO()
        columns.write(trace, out, color="never", width=100)
        self.assertIn("-> 0 AE", out.getvalue())
        self.assertTrue(perfetto.export(trace)["traceEvents"])

    def test_a_last_line_cut_short_is_left_out_with_a_warning(self):
        text = SMALL.read_text()
        cut = text[: len(text) - 20]  # the `end` record, half written
        trace = records.parse_lines(io.StringIO(cut), source="cut.jsonl")
        self.assertIsNone(trace.end)
        self.assertIn("cut.jsonl: the last line (line 36) is cut short; left out", trace.warnings)

    def test_a_broken_line_before_the_last_is_an_error_naming_it(self):
        lines = SMALL.read_text().splitlines(keepends=True)
        lines[4] = lines[4][:30] + "\n"
        with self.assertRaisesRegex(records.TraceError, r"^x.jsonl:5: not JSON"):
            records.parse_lines(lines, source="x.jsonl")

    def test_records_without_the_common_fields_are_refused(self):
        for bad, field in (({"t": 1, "seq": 0}, "kind"), ({"kind": "log", "seq": 0}, "t"),
                           ({"kind": "log", "t": 1.5, "seq": 0}, "t"),
                           ({"kind": "log", "t": 1, "seq": "0"}, "seq")):
            with self.assertRaisesRegex(records.TraceError, f"valid `{field}`"):
                records.parse_lines(lines_of(bad))

    def test_another_schema_version_is_refused(self):
        with self.assertRaisesRegex(records.TraceError, "trace schema 2; this viewer reads schema 1"):
            records.parse_lines(lines_of({"kind": "run", "t": 0, "seq": 0, "schema": 2}))

    def test_missing_file_and_empty_file(self):
        with self.assertRaisesRegex(records.TraceError, "No such file"):
            records.load("/nonexistent/trace.jsonl")
        with self.assertRaisesRegex(records.TraceError, "no records"):
            records.parse_lines(["\n"])

    def test_synthetic_runs_round_trip(self):
        generated = synth.generate(seconds=10, seed=3, clients=1)
        trace = records.parse_lines(synth.lines(generated))
        self.assertEqual(len(trace.records), len(generated))
        self.assertEqual(trace.clients, ["clerk 0"])
        self.assertTrue(any(c.t_lost is not None for c in model.calls(trace)))


if __name__ == "__main__":
    unittest.main()
