"""End to end with the real kernel (`ninja check`): a two-point sweep
(tests/tools/two-point.toml: boot figures at 1 and 2 cores), its report with
plots, and the HTML report opened in headless Chromium, screenshot taken,
failing if any plot did not load.

    python3 -m unittest tests/tools/test_sweep_e2e.py -v
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import results  # noqa: E402

EXO = os.path.join(TOP, "tools", "exo")
SPEC = os.path.join(TOP, "tests", "tools", "two-point.toml")
KERNEL = os.path.join(TOP, "build", "debug", "kernel.elf")
SYSTEM_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium(args, profile):
    return subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


@unittest.skipUnless(os.path.exists(KERNEL) and shutil.which("qemu-system-x86_64"),
                     "needs ninja debug and QEMU")
class TwoPointSweepTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="exo-e2e-")
        cls.root = os.path.join(cls.dir, "results")
        cls.sweep = subprocess.run([SYSTEM_PYTHON, EXO, "sweep", SPEC, "--results", cls.root,
                                    "--no-progress"], capture_output=True, text=True,
                                   timeout=600)
        runs = results.runs_of(cls.root, "check-two-point")
        cls.rundir = results.RunDir(runs[0]) if runs else None
        cls.report = subprocess.run([SYSTEM_PYTHON, EXO, "report", runs[0], "--results",
                                     cls.root], capture_output=True, text=True, timeout=300) \
            if runs else None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_sweep_ran_both_points(self):
        self.assertEqual(self.sweep.returncode, 0, self.sweep.stdout + self.sweep.stderr)
        res = self.rundir.results()
        self.assertEqual(sorted(r["config"]["cores"] for r in res), [1, 2])
        self.assertTrue(all(r["status"] == "ok" and r["figures"] for r in res))
        self.assertTrue(all(r["first_figure_s"] is not None for r in res))
        self.assertEqual(self.rundir.meta()["accel"], "tcg")

    def test_report_has_plots(self):
        self.assertEqual(self.report.returncode, 0, self.report.stdout + self.report.stderr)
        plots = os.listdir(self.rundir.file("report", "plots"))
        self.assertIn("cores-boot_ms.png", plots)
        self.assertIn("cores-boot_ms.svg", plots)

    def test_html_report_loads_every_plot_in_chromium(self):
        if shutil.which("chromium") is None:
            self.skipTest("Debian's chromium is not installed (apt-get install chromium)")
        self.assertEqual(self.report.returncode, 0, self.report.stderr)
        page = "file://" + self.rundir.file("report", "report.html")
        shot = os.path.join(self.dir, "report.png")
        with tempfile.TemporaryDirectory() as profile:
            r = chromium([f"--screenshot={shot}", "--window-size=1200,2000", page], profile)
        self.assertTrue(os.path.exists(shot) and os.path.getsize(shot) > 10000,
                        r.stderr[-2000:])
        with tempfile.TemporaryDirectory() as profile:
            r = chromium(["--dump-dom", page], profile)
        m = re.search(r'data-plots="(\d+)/(\d+)"', r.stdout)
        self.assertIsNotNone(m, "the page's load check did not run: " + r.stderr[-2000:])
        loaded, total = int(m.group(1)), int(m.group(2))
        self.assertGreater(total, 0)
        self.assertEqual(loaded, total, f"{total - loaded} plot(s) did not load")


if __name__ == "__main__":
    unittest.main()
