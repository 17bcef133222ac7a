# tools/trace/first_bad_test.py
#
# The first bad moment: found at the record where each invariant first
# breaks (two leaders in a term, applied values disagreeing, a committed
# entry lost, a monitor's violation), not reported on a healthy run, and
# chosen as the place to open only when it precedes the failure.

from __future__ import annotations

import json
import unittest

from tools.trace import first_bad, page, records, synth


def trace_of(*dicts):
    rs = [dict(d, seq=i) for i, d in enumerate(dicts)]
    return records.parse_lines([json.dumps(r) + "\n" for r in rs])


def state(t, peer, **fields):
    return dict(kind="state", t=t, peer=peer, **fields)


def apply(t, peer, index, command):
    return dict(kind="apply", t=t, peer=peer, index=index, term=1, command=command)


FAILURE = dict(kind="failure", t=9000, text="the check that noticed", file="raft/config.cc", line=1)


class FindTest(unittest.TestCase):
    def test_two_leaders_in_one_term(self):
        trace = trace_of(state(100, "0", term=3, role="leader"),
                         state(200, "1", term=3, role="candidate"),
                         state(300, "1", role="leader"),  # term carried from its last record
                         FAILURE)
        bad = first_bad.find(trace)
        self.assertEqual((bad.t, bad.seq), (300, 2))
        self.assertEqual(bad.what, "two leaders in term 3: 0 and 1")

    def test_leaders_of_different_terms_are_fine(self):
        trace = trace_of(state(100, "0", term=3, role="leader"),
                         state(200, "1", term=4, role="leader"),
                         state(300, "0", term=4, role="follower"))
        self.assertIsNone(first_bad.find(trace))

    def test_applied_values_disagree(self):
        trace = trace_of(apply(100, "0", 1, "a"), apply(150, "1", 1, "a"),
                         apply(200, "0", 2, "b"), apply(300, "2", 2, "c"), FAILURE)
        bad = first_bad.find(trace)
        self.assertEqual(bad.t, 300)
        self.assertEqual(bad.what, "applied values disagree at index 2: 0 applied b, 2 applied c")
        self.assertEqual(bad.peers, ["0", "2"])

    def test_a_committed_entry_lost_by_a_new_leader(self):
        trace = trace_of(apply(100, "0", 1, "a"), apply(110, "0", 2, "b"),
                         state(200, "2", term=5, role="leader", log_len=1))
        bad = first_bad.find(trace)
        self.assertEqual(bad.t, 200)
        self.assertIn("committed entry lost: leader 2", bad.what)

    def test_a_leader_with_a_compacted_log_is_not_a_loss(self):
        trace = trace_of(apply(100, "0", 1, "a"), apply(110, "0", 2, "b"),
                         state(200, "2", term=5, role="leader", log_len=1, snapshot_index=2))
        self.assertIsNone(first_bad.find(trace))

    def test_a_monitor_violation_counts(self):
        trace = trace_of(dict(kind="violation", t=50, what="two leaders in term 4", peers=["1", "3"]))
        self.assertEqual(first_bad.find(trace).what, "two leaders in term 4")

    def test_a_healthy_run_has_none(self):
        self.assertIsNone(first_bad.find(synth.trace(seconds=30, seed=2)))


class FocusTest(unittest.TestCase):
    def test_opens_at_the_first_bad_moment_when_before_the_failure(self):
        trace = synth.trace(seconds=20, seed=1, bug="two-leaders")
        bad = first_bad.find(trace)
        self.assertIsNotNone(bad)
        self.assertLess(bad.t, trace.failure["t"] - 1_000_000)  # seconds before the check
        focus = first_bad.focus(trace)
        self.assertEqual((focus["t"], focus["first_bad"]), (bad.t, True))
        self.assertEqual(page.build_data(trace)["focus"]["t"], bad.t)

    def test_opens_at_the_failure_when_the_bad_moment_comes_after_it(self):
        trace = trace_of(FAILURE, state(9500, "0", term=1, role="leader"),
                         state(9600, "1", term=1, role="leader"))
        focus = first_bad.focus(trace)
        self.assertEqual((focus["t"], focus["first_bad"]), (9000, False))
        self.assertIsNotNone(first_bad.find(trace))
        self.assertIsNone(first_bad.shown(trace))

    def test_a_bad_moment_at_the_failures_instant_is_not_shown_apart(self):
        trace = trace_of(dict(kind="violation", t=9000, what="one vote per term violated", peers=[]),
                         FAILURE)
        self.assertIsNone(first_bad.shown(trace))
        self.assertFalse(first_bad.focus(trace)["first_bad"])


if __name__ == "__main__":
    unittest.main()
