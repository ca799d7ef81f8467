"""Unit tests of tools/gfuzz-soak: the seed lists, judging one boot's console
(a stand-in for QEMU), and the totals per smp and seed. No QEMU.

    python3 -m unittest discover -s tests/tools -v
"""

import importlib.machinery
import importlib.util
import itertools
import os
import unittest
from unittest import mock

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(TOP, "tools", "gfuzz-soak")


def load_tool():
    loader = importlib.machinery.SourceFileLoader("tool_gfuzz_soak", TOOL)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


gs = load_tool()

PASS_LOG = "".join(f"[cpu{c}] env 1: gfuzz: prog {c}.0 ops 3\n"
                   f"[cpu{c}] env 1: gfuzz: cpu {c} done: 3 operations in 1 programs, 0 skipped,"
                   " seed 5, 1 ms\n" for c in range(2)) + "2 passed, 0 failed\n[cpu0] exit: pass\n"


def outcome(status, timed_out=False):
    return gs.verdict.Outcome(status=status, timed_out=timed_out, timeout=9, elapsed=2.0)


class SeedList(unittest.TestCase):
    def test_ranges_and_lists(self):
        self.assertEqual(list(gs.seed_list("3,7,10-12")), [3, 7, 10, 11, 12])

    def test_open_ended(self):
        self.assertEqual(list(itertools.islice(gs.seed_list("5-"), 3)), [5, 6, 7])


class RunOnce(unittest.TestCase):
    def run_with(self, status, text, timed_out=False, smp=2):
        with mock.patch.object(gs.qemu, "run", return_value=(outcome(status, timed_out), text)):
            return gs.run_once("k.elf", smp, 5, 3, 9)[0]

    def test_pass_needs_every_core_done(self):
        r = self.run_with(1, PASS_LOG)  # QEMU status 1: the guest's pass
        self.assertEqual((r["verdict"], r["executed"], r["programs"]), ("pass", 6, 2))
        r = self.run_with(1, PASS_LOG, smp=4)
        self.assertEqual(r["verdict"], "fail")
        self.assertIn("2 of 4 cores", r["reason"])

    def test_a_fail_line_and_a_timeout_are_failures(self):
        text = "[cpu0] env 1: gfuzz: FAIL 0.3 op 1: checker (2)\n[cpu0] exit: fail\n"
        r = self.run_with(3, text)
        self.assertEqual(r["verdict"], "fail")
        self.assertIn("gfuzz: FAIL 0.3", r["reason"])
        r = self.run_with(-15, "[cpu0] env 1: gfuzz: prog 0.0 ops 4\n", timed_out=True)
        self.assertEqual((r["verdict"], r["executed"]), ("fail", 4))
        self.assertIn("timeout", r["reason"])


class Totals(unittest.TestCase):
    def test_per_smp_and_seed(self):
        runs = [{"smp": 4, "seed": 1, "seconds": 1800, "executed": 10, "verdict": "pass"},
                {"smp": 4, "seed": 2, "seconds": 1800, "executed": 5, "verdict": "fail"},
                {"smp": 8, "seed": 1, "seconds": 3600, "executed": 7, "verdict": "stopped"}]
        per_smp, per_seed = gs.totals(runs)
        self.assertEqual(per_smp["4"], {"hours": 1.0, "runs": 2, "executed": 15, "failures": 1})
        self.assertEqual(per_smp["8"]["failures"], 0)
        self.assertEqual(per_seed["smp4-s2"]["failures"], 1)


if __name__ == "__main__":
    unittest.main()
