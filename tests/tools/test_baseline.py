"""Unit tests of tools/exolib/baseline.py (the Linux baseline): the ratio
table on fixtures whose answers are known, the initramfs writer, the checks
on what a guest printed, the cache; and baseline/linux-bench.c built and run
on the host for a few rounds, its output parsed. No QEMU, no Linux boot.

    python3 -m unittest discover -s tests/tools -p 'test_baseline.py' -v
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import baseline, sweepreport  # noqa: E402
from exolib.verdict import Outcome  # noqa: E402

FIXTURES = os.path.join(TOP, "tests", "tools", "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def rows_by(rows):
    return {(r.figure, r.detail, r.linux_name): r for r in rows}


class RatioTable(unittest.TestCase):
    def setUp(self):
        self.exo = fixture("baseline-exocore.json")
        self.linux = fixture("baseline-linux.json")
        self.rows = rows_by(baseline.ratio_rows(self.exo, self.linux))

    def test_ratios(self):
        r = self.rows[("null_syscall", "", "getppid")]
        self.assertEqual((r.exocore, r.linux), (134, 335))
        self.assertAlmostEqual(r.ratio, 0.4)
        self.assertAlmostEqual(self.rows[("page_fault_upcall_map_round_trip", "",
                                          "sigsegv_mprotect")].ratio, 0.5)
        self.assertAlmostEqual(self.rows[("page_fault_upcall_map_round_trip", "",
                                          "first_touch_minor_fault")].ratio, 2622 / 6373)

    def test_no_counterpart(self):
        for key in (("slice_switch_timer", "", None), ("boot_ms", "cores=1", None),
                    ("chan_rtt", "receiver=polling to=1", None)):
            r = self.rows[key]
            self.assertEqual(r.note, "no counterpart")
            self.assertIsNone(r.ratio)
        self.assertEqual(self.rows[("boot_ms", "cores=1", None)].exocore, 60.8)

    def test_counterpart_not_measured(self):
        # chan_rtt over IPIs has two counterparts, neither in this baseline.
        for name in ("futex_wake_round_trip", "pipe_round_trip_cross_core"):
            r = self.rows[("chan_rtt", "receiver=ipi to=1", name)]
            self.assertEqual(r.note, "no Linux figure")
            self.assertIsNone(r.ratio)

    def test_cores_running(self):
        one = self.rows[("frame_alloc_map_unmap_free", "", "mmap_touch_munmap")]
        self.assertAlmostEqual(one.ratio, 0.1)
        self.assertAlmostEqual(
            self.rows[("frame_alloc_map_unmap_free", "", "mmap_touch_munmap_threads")].ratio,
            2781 / 26000)
        # Two cores: lower medians of both sides' per-core figures, 2700 / 27000.
        two = self.rows[("frame_alloc_map_unmap_free", "cores_running=2",
                         "mmap_touch_munmap_threads")]
        self.assertEqual((two.exocore, two.linux), (2700, 27000))
        self.assertNotIn(("frame_alloc_map_unmap_free", "cores_running=2", "mmap_touch_munmap"),
                         self.rows)
        four = self.rows[("frame_alloc_map_unmap_free", "cores_running=4",
                          "mmap_touch_munmap_threads")]
        self.assertEqual(four.note, "no Linux figure")

    def test_linux_only(self):
        r = self.rows[("pipe_throughput_cross_core", "", "pipe_write_64k")]
        self.assertIsNone(r.exocore)
        self.assertEqual(r.note, "no exocore figure")
        self.assertIs(baseline.ratio_rows(self.exo, self.linux)[-1].exocore, None)

    def test_clocks_do_not_mix(self):
        tcg = [dict(r, icount=None) for r in self.linux]
        with self.assertRaises(ValueError):
            baseline.ratio_rows(self.exo, tcg)

    def test_compare_results(self):
        tcg_exo = [dict(r, icount=None) for r in self.exo[:2]]
        out = dict(baseline.compare_results(self.exo + tcg_exo, [self.linux]))
        self.assertIsNone(out[("tcg", None)])
        rows = rows_by(out[("tcg", "shift=0,align=off,sleep=off")])
        self.assertAlmostEqual(rows[("null_syscall", "", "getppid")].ratio, 0.4)
        # A counterpart paired in one smp group is no Linux-only row in another.
        self.assertNotIn(("null_syscall", "", "getppid"),
                         {(r.figure, r.detail, r.linux_name) for r in
                          out[("tcg", "shift=0,align=off,sleep=off")] if r.exocore is None})
        # One row per figure, however many smp groups the exocore file has.
        keys = [(r.figure, r.detail, r.linux_name) for r in
                out[("tcg", "shift=0,align=off,sleep=off")]]
        self.assertEqual(len(keys), len(set(keys)))

    def test_table_text(self):
        text = baseline.format_table(baseline.ratio_rows(self.exo, self.linux))
        self.assertIn("0.40", text)
        self.assertIn("no counterpart", text)
        md = baseline.format_table(baseline.ratio_rows(self.exo, self.linux), markdown=True)
        self.assertTrue(md.startswith("| figure |"))

    def test_every_counterpart_names_a_known_figure(self):
        exo_names = {r["figure"] for r in fixture("baseline-exocore.json")}
        bench = ""
        folder = os.path.join(TOP, "workloads", "bench")
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name)) as f:
                bench += f.read()
        for c in baseline.COUNTERPARTS:
            if c in baseline.MACRO_COUNTERPARTS:
                continue  # workloads/memscan.c and kvstore.c: test_linuxmacro.py
            self.assertTrue(c.figure in exo_names or f'"{c.figure}"' in bench
                            or c.figure in ("chan_rtt", "tlb_shootdown"), c.figure)


class SweepReportColumn(unittest.TestCase):
    """The sweep report's Linux column (baseline.report_counterparts)."""

    def agg(self, icount):
        cfg = {"accel": "tcg", "icount": icount, "cores": 2}
        common = {"min": 1, "max": 9, "n": 10, "reps": 1, "unit": "cycles",
                  "clock": "instructions" if icount else "tcg", "config": cfg}
        return {("bench", 2, "null_syscall"): dict(common, median=134,
                                                   data={"figure": "null_syscall"}),
                ("bench", 2, "slice_switch_timer"): dict(common, median=1159,
                                                         data={"figure": "slice_switch_timer"})}

    def test_icount_figures_get_their_counterpart(self):
        linux = fixture("baseline-linux.json")
        got = baseline.report_counterparts(self.agg(True), [linux])
        self.assertEqual(got[("bench", 2, "null_syscall")], {"median": 335, "linux": "getppid"})
        self.assertNotIn(("bench", 2, "slice_switch_timer"), got)  # no counterpart
        rows = sweepreport.figure_table(self.agg(True), got)
        self.assertEqual(rows[0][-2:], ["Linux", "ratio"])
        by = {r[0]: r for r in rows[1:]}
        self.assertEqual(by["null_syscall"][-1], "0.40")
        self.assertEqual(by["slice_switch_timer"][-2], "no counterpart")

    def test_tcg_figures_never_take_a_cached_baseline(self):
        linux = fixture("baseline-linux.json")
        self.assertEqual(baseline.report_counterparts(self.agg(False), [linux]), {})


class Initramfs(unittest.TestCase):
    def test_newc(self):
        data = baseline.cpio_newc([("dev", 0o40755, b"", None),
                                   ("dev/console", 0o20600, b"", (5, 1)),
                                   ("init", 0o100755, b"abc", None)])
        self.assertEqual(len(data) % 512, 0)
        entries, off = [], 0
        while True:
            h = data[off:off + 110]
            self.assertEqual(h[:6], b"070701")
            f = [int(h[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
            namesize, filesize = f[11], f[6]
            name = data[off + 110:off + 110 + namesize - 1].decode()
            off = (off + 110 + namesize + 3) & ~3
            body = data[off:off + filesize]
            off = (off + filesize + 3) & ~3
            if name == "TRAILER!!!":
                break
            entries.append((name, f[1], body, (f[9], f[10])))
        self.assertEqual(entries, [("dev", 0o40755, b"", (0, 0)),
                                   ("dev/console", 0o20600, b"", (5, 1)),
                                   ("init", 0o100755, b"abc", (0, 0))])


GOOD = """\
SeaBIOS (version 1.16.2)\r
linux-bench: init on 2 cpus, 100 rounds\r
EXOJSON {"figure":"null_syscall","linux":"getppid","os":"linux","unit":"cycles","median":341,"min":341,"max":400,"n":100}\r
EXOJSON {"figure":"chan_rtt","linux":"futex_wake_round_trip","os":"linux","unit":"cycles","median":9,"min":8,"max":10,"n":100}\r
linux-bench: done, 2 figures, 0 failures\r
"""


def outcome(status=1, timed_out=False):
    return Outcome(status=status, timed_out=timed_out, timeout=60, elapsed=1.0)


class GuestChecks(unittest.TestCase):
    def test_good(self):
        figs = baseline.check_run(outcome(), GOOD, smp=2)
        self.assertEqual([f["linux"] for f in figs], ["getppid", "futex_wake_round_trip"])

    def test_garbage_figure(self):
        bad = GOOD.replace('"median":341', '"median":34\x001')
        with self.assertRaisesRegex(baseline.BaselineError, "garbled"):
            baseline.check_run(outcome(), bad)
        with self.assertRaisesRegex(baseline.BaselineError, "min <= median"):
            baseline.check_run(outcome(), GOOD.replace('"median":341', '"median":3410'))
        with self.assertRaisesRegex(baseline.BaselineError, "missing n"):
            baseline.check_run(outcome(), GOOD.replace(',"n":100}', "}", 1))

    def test_incomplete(self):
        cut = GOOD.rsplit("linux-bench: done", 1)[0]
        with self.assertRaisesRegex(baseline.BaselineError, "never finished"):
            baseline.check_run(outcome(status=0), cut)
        with self.assertRaisesRegex(baseline.BaselineError, "did not finish within 60 s"):
            baseline.check_run(outcome(timed_out=True), cut)
        # Cut mid-line (QEMU gone before the console drained): unfinished, not garbage.
        midline = GOOD[:GOOD.index('"median":9')]
        with self.assertRaisesRegex(baseline.BaselineError, "never finished"):
            baseline.check_run(outcome(status=0), midline)
        with self.assertRaisesRegex(baseline.BaselineError, "said 3 figures"):
            baseline.check_run(outcome(), GOOD.replace("done, 2", "done, 3"))

    def test_failures(self):
        with self.assertRaisesRegex(baseline.BaselineError, "1 failed operations"):
            baseline.check_run(outcome(status=3), GOOD.replace("0 failures", "1 failures"))

    def test_one_cpu_when_two_asked(self):
        one = "".join(ln for ln in GOOD.splitlines(True) if "futex" not in ln).replace(
            "done, 2", "done, 1")
        self.assertEqual(len(baseline.check_run(outcome(), one, smp=1)), 1)
        with self.assertRaisesRegex(baseline.BaselineError, "ran the benchmark on one"):
            baseline.check_run(outcome(), one, smp=2)


class Cache(unittest.TestCase):
    def test_key_must_match(self):
        rec = {"figure": "null_syscall", "median": 1, "qemu": "7.2", "accel": "tcg",
               "icount": None, "smp": 1, "mem": "512M", "cpu": "max",
               "linux_release": "6.1.0-57-amd64", "bench_sha": "ab", "rounds": 10}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "results", "baseline", "linux-tcg-smp1.json")
            baseline.save(path, [rec])
            self.assertEqual(baseline.load_cached(path, baseline.key_of(rec)), [rec])
            self.assertIsNone(baseline.load_cached(path, dict(baseline.key_of(rec), qemu="8.0")))
            self.assertIsNone(baseline.load_cached(path + ".none", baseline.key_of(rec)))
            self.assertEqual(baseline.load_any(d, "tcg", None), [[rec]])
            self.assertEqual(baseline.load_any(d, "tcg", "shift=0"), [])

    def test_icount_smp2_boots_one_cpu_then_onlines(self):
        self.assertIn("maxcpus=1 bench_online=yes", baseline.linux_args(2, True, 10))
        self.assertNotIn("maxcpus", baseline.linux_args(2, False, 10))
        m = baseline.machine("/boot/vmlinuz-x", 2, "tcg", True, "512M", 10)
        cmd = baseline.command(m, "initrd.cpio")
        self.assertEqual(cmd[-2:], ["-initrd", "initrd.cpio"])
        self.assertIn("-icount", cmd)

    def test_source_sha_ignores_whitespace(self):
        with tempfile.TemporaryDirectory() as d:
            a, b, c = (os.path.join(d, n) for n in "abc")
            for path, text in ((a, "int x = 1;\n"), (b, "int  x =\n\t1;"), (c, "int x = 2;\n")):
                with open(path, "w") as f:
                    f.write(text)
            self.assertEqual(baseline.source_sha(a), baseline.source_sha(b))
            self.assertNotEqual(baseline.source_sha(a), baseline.source_sha(c))

    def test_no_kernel(self):
        with self.assertRaisesRegex(baseline.BaselineError, "no Linux kernel"):
            baseline.find_linux("/nonexistent/vmlinuz")


class HostRun(unittest.TestCase):
    """The benchmark program builds (static, as for the initramfs) and runs here."""

    def test_build_and_run(self):
        with tempfile.TemporaryDirectory() as d:
            exe = baseline.build_bench(TOP, d)
            p = subprocess.run([exe, "30"], capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
            figures, done = baseline.parse_output(p.stdout)
            self.assertEqual(done, (len(figures), 0))
            names = {f["linux"] for f in figures}
            known = {c.linux for c in baseline.COUNTERPARTS} | set(baseline.LINUX_ONLY)
            self.assertLessEqual(names, known)
            for must in ("getppid", "sigsegv_mprotect", "pipe_round_trip_same_core",
                         "fork_exit_wait", "posix_spawn_exit_wait", "mmap_touch_munmap"):
                self.assertIn(must, names)
            if (os.cpu_count() or 1) >= 2:
                self.assertIn("futex_wake_round_trip", names)
            y = next(f for f in figures if f["linux"] == "sched_yield_two_threads")
            self.assertGreaterEqual(y["partner_yields"], 30)

    def test_bad_rounds(self):
        with tempfile.TemporaryDirectory() as d:
            exe = baseline.build_bench(TOP, d)
            p = subprocess.run([exe, "0"], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0)
            self.assertEqual(baseline.parse_output(p.stdout)[1], (0, 1))


if __name__ == "__main__":
    unittest.main()
