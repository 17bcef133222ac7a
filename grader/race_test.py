# grader/race_test.py: race mode turns ThreadSanitizer's report into the
# reason a run fails, naming the two tasks and where they met.

import unittest

from grader import race
from grader import verdict

# A report as the sim runtime produces it (abridged: TSan prints more frames).
REPORT = """\
lab: runtime=sim seed=7 (replay: LAB_RUNTIME=sim LAB_SEED=7)
==================
WARNING: ThreadSanitizer: data race (pid=32604)
  Write of size 8 at 0x7b4000000400 by thread T9:
    #0 raft::Raft::Ticker() raft/raft.cc:210 (raft_test+0x55f1)
    #1 operator() raft/raft.cc:95 (raft_test+0x55f1)
    #2 std::function<void ()>::operator()() const /usr/include/c++/12/bits/std_function.h:591 (raft_test+0xb583)
    #3 lab::internal::RunTaskBody(lab::internal::TaskBase*, std::function<void ()> const&) labrpc/runtime/world.cc:168 (raft_test+0xb583)

  Previous read of size 8 at 0x7b4000000400 by thread T12 (mutexes: write M1):
    #0 raft::Raft::GetState() raft/raft.cc:120 (raft_test+0x74b0)
    #1 raft::Config::CheckOneLeader() raft/config.cc:248 (raft_test+0x74b0)

  Location is heap block of size 640 at 0x7b4000000280 allocated by thread T3:
    #0 operator new(unsigned long) ../../../../src/libsanitizer/tsan/tsan_new_delete.cpp:64 (libtsan.so.2+0x87323)

  Thread T9 'ticker-1 (task 8)' (tid=0, running) created by thread T3 at:
    #0 lab::internal::race::CreateFiber() labrpc/runtime/race.cc:75 (raft_test+0x1d06f)

  Thread T12 'main (task 1)' (tid=0, running) created by main thread at:
    #0 lab::internal::race::CreateFiber() labrpc/runtime/race.cc:75 (raft_test+0x1d06f)

SUMMARY: ThreadSanitizer: data race raft/raft.cc:210 in raft::Raft::Ticker()
==================
"""


class ReasonTest(unittest.TestCase):
    def test_a_data_race_names_both_tasks_and_the_lab_code(self):
        reason = race.reason_from_log(REPORT)
        lines = reason.splitlines()
        self.assertEqual(lines[0], 'data race (ThreadSanitizer): write in task "ticker-1 (task 8)", '
                                   'previous read in task "main (task 1)"')
        self.assertEqual(lines[1], "write at raft::Raft::Ticker() (raft/raft.cc:210)")
        self.assertEqual(lines[2], "  called from operator() (raft/raft.cc:95)")
        self.assertEqual(lines[3], "previous read at raft::Raft::GetState() (raft/raft.cc:120)")
        self.assertIn("CheckOneLeader", lines[4])
        # The standard library and the runtime's internals are left out.
        self.assertNotIn("std_function", reason)
        self.assertNotIn("world.cc", reason)
        self.assertLessEqual(len(lines), 8)  # what the final report shows of a reason

    def test_no_report_no_reason(self):
        self.assertIsNone(race.reason_from_log("lab: runtime=sim seed=7\n[  PASSED  ] 1 test.\n"))

    def test_another_kind_of_report_is_named_by_its_summary(self):
        log = ("WARNING: ThreadSanitizer: lock-order-inversion (potential deadlock) (pid=1)\n"
               "  Cycle in lock order graph: M1 => M2 => M1\n"
               "SUMMARY: ThreadSanitizer: lock-order-inversion (potential deadlock) a.cc:3 in f\n")
        self.assertEqual(race.reason_from_log(log),
                         "ThreadSanitizer: lock-order-inversion (potential deadlock) a.cc:3 in f")

    def test_judge_fails_a_run_tsan_reported(self):
        passed = verdict.Verdict(True, "")
        self.assertFalse(race.judge(passed, REPORT).passed)
        self.assertTrue(race.judge(passed, "all fine\n").passed)
        failed = verdict.Verdict(False, "exit status 1")
        self.assertEqual(race.judge(failed, "all fine\n").reason, "exit status 1")


class BuildKeyTest(unittest.TestCase):
    def test_round_trip(self):
        for race_mode in (False, True):
            key = race.build_key("//raft:raft_test", race_mode)
            self.assertEqual(race.split_key(key), ("//raft:raft_test", race_mode))
        self.assertNotEqual(race.build_key("//raft:raft_test", True), "//raft:raft_test")


if __name__ == "__main__":
    unittest.main()
