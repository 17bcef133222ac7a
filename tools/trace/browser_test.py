# tools/trace/browser_test.py
#
# The HTML timeline in a real browser (Debian's chromium, headless; ./test
# installs it through tools/bootstrap.sh --tests): on the trace of a Raft
# with a planted election bug the page loads with no script error, draws
# one column per peer, the failure marker and the first-bad-moment marker,
# and opens at the first bad moment. Its screenshot lands in the test's
# outputs ($TEST_UNDECLARED_OUTPUTS_DIR; tools/trace/timeline.png is the
# recorded trace's).
# A 120 s run of 5 peers loads without errors too; both print how long the
# page took to draw.

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from tools.trace import first_bad, page, records, synth


def chromium() -> str:
    for name in ("chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("chromium is not installed: run tools/bootstrap.sh --tests (./test does)")


class Browser:
    """Headless chromium runs, each with a fresh profile in a temporary home.
    The home is under /tmp, not the test's own temporary folder: chromium's
    profile lock is a Unix socket, whose path may not be longer than ~100
    bytes, and Bazel's sandbox paths are."""

    def __init__(self):
        self.exe = chromium()
        self.workdir = Path(tempfile.mkdtemp(prefix="trace-chromium-", dir="/tmp"))

    def close(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def run(self, url: str, *flags: str) -> subprocess.CompletedProcess:
        home = Path(tempfile.mkdtemp(prefix="home-", dir=self.workdir))
        env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_CACHE_HOME=str(home / ".cache"), TMPDIR=str(self.workdir))
        cmd = [self.exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", f"--user-data-dir={home / 'profile'}",
               "--window-size=1400,900", "--enable-logging=stderr", "--v=0", *flags, url]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    def dom(self, url: str):
        """The DOM after the page's scripts ran, and the browser's console lines."""
        r = self.run(url, "--dump-dom")
        if r.returncode != 0:
            raise AssertionError(f"chromium exited {r.returncode}: {r.stderr[-2000:]}")
        console = [line for line in r.stderr.splitlines() if "CONSOLE" in line]
        return r.stdout, console


def body_attr(dom: str, name: str):
    m = re.search(r"<body[^>]*\b" + name + r'="([^"]*)"', dom)
    return m.group(1) if m else None


class BrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp())
        cls.outputs = Path(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or cls.tmp)
        cls.browser = Browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()

    def assert_loads_cleanly(self, dom: str, console: list):
        self.assertEqual(body_attr(dom, "data-ready"), "1", "the page's script did not finish")
        errors = re.search(r'<pre id="errors">(.*?)</pre>', dom, re.S)
        self.assertIsNotNone(errors)
        self.assertEqual(errors.group(1), "", "script errors recorded by the page")
        self.assertEqual(console, [], "the page wrote to the console")

    def test_failing_run(self):
        trace = synth.trace(seconds=20, seed=1, clients=1, bug="two-leaders")
        bad = first_bad.find(trace)
        html = self.tmp / "two_leaders.html"
        page.write(trace, html)
        dom, console = self.browser.dom(html.as_uri())
        self.assert_loads_cleanly(dom, console)
        peers = re.findall(r'<div class="col peer" data-col="([^"]*)"', dom)
        self.assertEqual(peers, ["0", "1", "2", "3", "4"])
        self.assertEqual(len(re.findall(r'class="col client"', dom)), 1)
        self.assertRegex(dom, r'<div id="failure-marker" class="marker" style="top: \d+(\.\d+)?px;">'
                              r'<span title="term has 2 \(&gt;1\) leaders">FAILED</span>')
        self.assertIn("Failed at 20.000s: term has 2 (&gt;1) leaders (raft/config.cc:412)", dom)
        self.assertIn('id="first-bad-marker"', dom)
        self.assertIn("First bad moment at", dom)
        self.assertEqual(body_attr(dom, "data-opened-at"), str(bad.t))
        print(f"two-leaders page: {html.stat().st_size / 1e6:.2f} MB, drawn "
              f"{body_attr(dom, 'data-render-ms')} ms after navigation")

        # The same page zoomed out to the whole run, and opened at a time.
        for suffix, opened in (("#whole", "0"), ("#t=3.5", "3500000")):
            dom, console = self.browser.dom(html.as_uri() + suffix)
            self.assert_loads_cleanly(dom, console)
            self.assertEqual(body_attr(dom, "data-opened-at"), opened)

        shot = self.outputs / "timeline.png"
        r = self.browser.run(html.as_uri(), f"--screenshot={shot}")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(shot.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(shot.stat().st_size, 20_000)  # a drawn page, not a blank one

    def test_recorded_trace(self):
        trace = records.load(Path(__file__).resolve().parent / "testdata" / "broken_vote_reelection.jsonl")
        html = self.tmp / "recorded.html"
        page.write(trace, html)
        dom, console = self.browser.dom(html.as_uri())
        self.assert_loads_cleanly(dom, console)
        self.assertEqual(re.findall(r'<div class="col peer" data-col="([^"]*)"', dom),
                         ["raft-0", "raft-1", "raft-2"])
        self.assertIn('id="failure-marker"', dom)
        self.assertNotIn('id="first-bad-marker"', dom)
        self.assertEqual(body_attr(dom, "data-opened-at"), str(trace.failure["t"]))
        # The screenshot the READMEs show (tools/trace/timeline.png): a real
        # broken Raft's failure.
        shot = self.outputs / "recorded_timeline.png"
        r = self.browser.run(html.as_uri(), f"--screenshot={shot}")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertGreater(shot.stat().st_size, 20_000)  # a drawn page, not a blank one

    def test_long_run_loads(self):
        trace = synth.trace(seconds=120, peers=5, seed=5, clients=2, heartbeat_ms=20)
        html = self.tmp / "long.html"
        size = page.write(trace, html)
        dom, console = self.browser.dom(html.as_uri())
        self.assert_loads_cleanly(dom, console)
        self.assertEqual(len(re.findall(r'class="col peer"', dom)), 5)
        print(f"120 s, 5 peers ({len(trace.records)} records): page {size / 1e6:.2f} MB, drawn "
              f"{body_attr(dom, 'data-render-ms')} ms after navigation")


if __name__ == "__main__":
    unittest.main()
