# grader/outputs_test.py: the JSON, JUnit XML and Gradescope files are valid,
# complete, and written atomically.

import json
import os
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

from grader import outputs, rubric, runner, score
from grader.testing import TempDir

LIMITS = {"sim": 60.0, "threads": 180.0}
PART = rubric.Part("2B", "Log replication", "//raft:raft_test", ("2A",), (
    rubric.Test("Raft2B.One", 5, LIMITS, 1), rubric.Test("Raft2B.Two", 10, LIMITS, 2)), Path("x"))


def result(test, passed, seed):
    job = runner.Job(0, "2B", test, "sim", seed, 60, "bin")
    return runner.Result(job, passed, "" if passed else "failed: <bad> & \"quoted\"\nmore",
                         1.5, "log", "output <with> markup & \x1b[0m", "abcd")


def replay(r):
    return f"./grade --replay {r.job.seed} {r.job.test}"


class OutputsTest(unittest.TestCase):
    def setUp(self):
        self.summary = score.summarize([PART], {"Raft2B.One": 2, "Raft2B.Two": 2}, [
            result("Raft2B.One", True, 1), result("Raft2B.One", True, 2),
            result("Raft2B.Two", False, 1), result("Raft2B.Two", True, 2)])

    def test_json(self):
        doc = json.loads(outputs.to_json(self.summary, {"complete": True, "seeds": [1, 2]}, replay))
        self.assertEqual((doc["score"], doc["max_score"]), (5, 15))
        self.assertEqual((doc["passed_runs"], doc["failed_runs"]), (3, 1))
        self.assertEqual(len(doc["runs"]), 4)
        bad = [r for r in doc["runs"] if not r["passed"]][0]
        self.assertEqual(bad["replay"], "./grade --replay 1 Raft2B.Two")
        self.assertEqual(bad["seed"], 1)
        self.assertEqual(doc["parts"][0]["tests"][1]["status"], "failed")

    def test_junit(self):
        root = ET.fromstring(outputs.to_junit(self.summary, replay).split("\n", 1)[1])
        self.assertEqual(root.tag, "testsuites")
        self.assertEqual((root.get("tests"), root.get("failures")), ("4", "1"))
        cases = root.findall("./testsuite/testcase")
        self.assertEqual(len(cases), 4)
        failures = root.findall(".//failure")
        self.assertEqual(len(failures), 1)
        self.assertIn("<bad>", failures[0].get("message"))
        self.assertIn("replay: ./grade --replay 1 Raft2B.Two", failures[0].text)

    def test_gradescope(self):
        doc = json.loads(outputs.to_gradescope(self.summary, replay, "header"))
        self.assertEqual(doc["score"], 5)
        self.assertEqual(doc["output"], "header")
        self.assertEqual([(t["name"], t["score"], t["max_score"], t["status"]) for t in doc["tests"]],
                         [("2B: Raft2B.One", 5, 5, "passed"), ("2B: Raft2B.Two", 0, 10, "failed")])
        self.assertIn("seed 1", doc["tests"][1]["output"])
        self.assertIn("./grade --replay 1 Raft2B.Two", doc["tests"][1]["output"])

    def test_writers_replace_files_whole(self):
        with TempDir() as d:
            w = outputs.Writers(str(d / "r.json"), str(d / "sub" / "r.xml"), str(d / "gs.json"))
            w.write(self.summary, {"complete": False}, replay)
            w.write(self.summary, {"complete": True}, replay)
            self.assertTrue(json.loads((d / "r.json").read_text())["complete"])
            ET.parse(d / "sub" / "r.xml")
            json.loads((d / "gs.json").read_text())
            self.assertEqual(sorted(os.listdir(d)), ["gs.json", "r.json", "sub"])  # no temp files left


if __name__ == "__main__":
    unittest.main()
