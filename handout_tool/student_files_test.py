# handout_tool/student_files_test.py: this tree's student files as ./handout
# gives them. Each must read as the student's: its header describes the
# student's task and points to the lab write-ups, nothing in it shows the
# reference solution, and the skeleton keeps its guidance (the election
# ticker, an RPC sent from its own task, persistence).

import re
import unittest

from grader import rubric
from grader.testing import tree_root
from handout_tool import make, markers

STUDENT_FILES = {"raft/raft.h", "raft/raft.cc", "kvraft/common.h", "kvraft/client.h",
                 "kvraft/client.cc", "kvraft/server.h", "kvraft/server.cc"}


def header(text):
    """The comment block a file opens with."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        lines.append(line)
    return lines


def region_lines(source):
    """The non-blank lines inside solution regions (markers excluded)."""
    out = set()
    depth = 0
    for line in source.splitlines():
        if markers._BEGIN.match(line):
            depth += 1
        elif markers._END.match(line):
            depth -= 1
        elif depth and line.strip() not in ("", "//"):
            out.add(line.strip())
    return out


class StudentFilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tree_root()
        catalogue = rubric.load_catalogue(cls.root / "labs")
        cls.students = rubric.load_student_files(cls.root / "labs" / "student_files.txt",
                                                 set(catalogue))
        patterns = rubric.load_patterns(cls.root / "labs" / "instructor_only.txt")
        # Raises HandoutError if a student file would show the reference solution.
        cls.plan = make.plan_handout(cls.root, catalogue, cls.students, patterns)

    def test_every_student_file_is_stripped(self):
        self.assertEqual(set(self.plan.stripped), STUDENT_FILES)
        self.assertEqual(self.plan.skipped_students, [])

    def test_each_header_points_to_the_write_ups_of_its_parts(self):
        for f in self.students:
            lines = header(self.plan.stripped[f.path])
            self.assertEqual(lines[0], f"// {f.path}")
            text = " ".join(lines)
            named = re.findall(r"labs/(\w+)/README\.md", text)
            self.assertTrue(set(named) & set(f.parts), f"{f.path}: its header names no write-up "
                                                       f"of {', '.join(f.parts)}")
            for part in named:
                self.assertTrue((self.root / "labs" / part / "README.md").exists(), part)

    def test_no_header_line_comes_from_a_solution_region(self):
        for rel, text in self.plan.stripped.items():
            inside = region_lines((self.root / rel).read_text())
            for line in header(text):
                if line.strip() != "//":
                    self.assertNotIn(line.strip(), inside, rel)

    def test_no_student_file_mentions_the_reference(self):
        for rel, text in self.plan.stripped.items():
            for number, line in enumerate(text.splitlines(), start=1):
                self.assertIsNone(re.search(r"(?i)\breference\b", line), f"{rel}:{number}: {line}")

    def test_the_reference_design_is_gone(self):
        raft_cc = self.plan.stripped["raft/raft.cc"]
        for internal in ("Shape:", "kMaxInFlight", "TrySendLocked", "Applier", "since_ack_"):
            self.assertFalse(internal in raft_cc, f"raft/raft.cc still has {internal}")
        self.assertFalse("conflict_index" in self.plan.stripped["raft/raft.h"])
        self.assertFalse("client_id" in self.plan.stripped["kvraft/client.cc"])

    def test_the_raft_skeleton_shows_where_things_go(self):
        raft_cc = self.plan.stripped["raft/raft.cc"]
        for guidance in (
                'lab::Go("raft ticker", [this] { Ticker(); });',  # the constructor starts it
                "void Raft::Ticker() {",
                "while (!Killed()) {",
                "lab::SleepFor(absl::Milliseconds(lab::RandInt(",
                "void Raft::SendRequestVote(int peer, RequestVoteArgs args) {",
                'peers_[peer]->Call("Raft.RequestVote", args, &reply)',
                "ReadPersistLocked(persister_->ReadRaftState());",
                "void Raft::PersistLocked() {",
                "void Raft::Snapshot(",
        ):
            self.assertTrue(guidance in raft_cc, f"raft/raft.cc lacks {guidance}")
        raft_h = self.plan.stripped["raft/raft.h"]
        for declaration in ("void Ticker();", "void SendRequestVote(int peer, RequestVoteArgs args);",
                            "void PersistLocked()", "snapshot_valid = true"):
            self.assertTrue(declaration in raft_h, f"raft/raft.h lacks {declaration}")
        client_cc = self.plan.stripped["kvraft/client.cc"]
        self.assertTrue('Call("KVServer.Get", args, &reply)' in client_cc)


if __name__ == "__main__":
    unittest.main()
