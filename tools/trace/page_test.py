# tools/trace/page_test.py
#
# The HTML timeline's file: self-contained (no address outside the page),
# its data readable back with one column per peer, clerks and the failure,
# and bounded in size: a 120 s run of 5 peers stays under 10 MB, and a
# budget too small for a trace leaves out the RPCs and log lines farthest
# from the first bad moment, never the skeleton (states, tester actions,
# applies, the failure).

from __future__ import annotations

import json
import re
import time
import unittest

from tools.trace import page, records, synth

LIMIT = 10_000_000  # bytes, issue 13


def data_of(html: str) -> dict:
    m = re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


class PageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bug = synth.trace(seconds=20, seed=1, clients=1, bug="two-leaders")
        cls.html = page.render(cls.bug)

    def test_self_contained(self):
        self.assertNotRegex(self.html, r"(src|href)\s*=\s*[\"']?(https?:)?//")
        self.assertNotRegex(self.html, r"<link\b|@import|url\(")
        self.assertNotIn("</script", self.html[self.html.index('id="data"'):self.html.index("</script>",
                         self.html.index('id="data"'))])

    def test_data_has_the_columns_and_the_markers(self):
        data = data_of(self.html)
        self.assertEqual(data["cols"][:5], ["0", "1", "2", "3", "4"])
        self.assertEqual(data["cols"][5:], ["clerk 0", "tester"])
        self.assertEqual(data["npeers"], 5)
        self.assertEqual(data["failure"]["text"], "term has 2 (>1) leaders")
        self.assertIn("two leaders in term", data["first_bad"]["what"])
        self.assertEqual(data["focus"]["t"], data["first_bad"]["t"])
        self.assertTrue(data["ops"])
        self.assertTrue(any(r[6] >= 0 for r in data["rpcs"]))   # lost ones are there
        self.assertTrue(any(r[8] > 0 for r in data["rpcs"]))    # and held-back replies
        self.assertEqual(data["omitted"], {})

    def test_lines_of_one_instant_keep_their_order(self):
        def log(seq, text):
            return {"kind": "log", "t": 100, "seq": seq, "peer": "0", "task": "applier",
                    "topic": "APPLY", "text": text}
        trace = records.parse_lines([json.dumps(r) + "\n" for r in (
            {"kind": "run", "t": 0, "seq": 0, "schema": 1, "peers": ["0"]},
            log(1, "sending index 1"),
            {"kind": "apply", "t": 100, "seq": 2, "peer": "0", "index": 1, "command": "x"},
            log(3, "sent index 1"))])
        data = page.build_data(trace)
        self.assertEqual([data["str"][e[4]] for e in data["ev"] if e[0] == 0],
                         ["sending index 1", "apply 1: x", "sent index 1"])

    def test_script_text_cannot_end_the_data_early(self):
        trace = synth.trace(seconds=2, seed=1)
        trace.records.append({"kind": "log", "t": 1, "seq": 10**6, "peer": "0", "task": "x",
                              "topic": "LOG", "text": "</script><script>alert(1)</script>"})
        html = page.render(trace)
        self.assertEqual(data_of(html)["str"].count("</script><script>alert(1)</script>"), 1)

    def test_a_120s_run_of_5_peers_stays_under_10_mb(self):
        for heartbeat_ms in (100, 20):  # as in the labs, and five times denser
            start = time.monotonic()
            trace = synth.trace(seconds=120, peers=5, seed=5, clients=2, heartbeat_ms=heartbeat_ms)
            generated = time.monotonic()
            size = len(page.render(trace).encode())
            print(f"120 s, 5 peers, heartbeat {heartbeat_ms} ms: {len(trace.records)} records, "
                  f"page {size / 1e6:.2f} MB (trace made in {generated - start:.1f} s, page "
                  f"in {time.monotonic() - generated:.1f} s)")
            self.assertLess(size, LIMIT)

    def test_a_small_budget_keeps_the_skeleton_and_what_is_near_the_focus(self):
        trace = synth.trace(seconds=40, seed=3, bug="two-leaders")
        full = page.build_data(trace)
        small = page.build_data(trace, budget=len(json.dumps(full)) // 3)
        self.assertLess(len(json.dumps(small, separators=(",", ":"))), len(json.dumps(full)) // 3 + 1000)
        self.assertGreater(sum(small["omitted"].values()), 0)
        self.assertGreater(small["omitted"].get("heartbeats", 0), small["omitted"].get("RPCs", 0))
        for key in ("states", "shades", "ops"):
            self.assertEqual(len(small[key]), len(full[key]), key)
        self.assertEqual(small["failure"], full["failure"])
        t0, t1 = small["complete"]
        self.assertTrue(0 <= t0 < t1 <= trace.t_end, small["complete"])
        self.assertLessEqual(t0, small["first_bad"]["t"])
        self.assertGreaterEqual(t1, small["first_bad"]["t"])
        near = [r for r in full["rpcs"] if t0 <= r[3] <= t1]
        self.assertTrue(near)
        kept = {json.dumps([small["str"][r[9]], r[3], r[0], r[1]]) for r in small["rpcs"]}
        for r in near:
            self.assertIn(json.dumps([full["str"][r[9]], r[3], r[0], r[1]]), kept)


if __name__ == "__main__":
    unittest.main()
