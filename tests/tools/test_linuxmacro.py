"""Unit tests of the Linux baseline's macro workloads (tools/exolib/linuxmacro.py,
baseline/linux-macro.c): the module order from a modules.dep, the swap
header against the kernel's format, the checks on what a guest printed, the
pairing of Linux memscan and kvstore figures with exocore's from fixtures
whose answers are known, and linux-macro built and run on the host (the
scan and the pipe server without cgroup or swap). No QEMU, no Linux boot.

    python3 -m unittest discover -s tests/tools -p 'test_linuxmacro.py' -v
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import baseline, linuxmacro  # noqa: E402
from exolib.verdict import Outcome  # noqa: E402

FIXTURES = os.path.join(TOP, "tests", "tools", "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def rows_by(rows):
    return {(r.figure, r.detail, r.linux_name): r for r in rows}


class ModuleOrder(unittest.TestCase):
    DEP = """kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko \
kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko \
kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/fs/xfs/xfs.ko.xz:
"""

    def root(self, dep=DEP):
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "modules.dep"), "w") as f:
            f.write(dep)
        return d

    def test_dependencies_first_each_once(self):
        order = [os.path.basename(p) for p in linuxmacro.module_order("x", root=self.root())]
        self.assertEqual(order, ["virtio_pci_legacy_dev.ko", "virtio_pci_modern_dev.ko",
                                 "virtio_ring.ko", "virtio.ko", "virtio_pci.ko",
                                 "virtio_blk.ko"])

    def test_missing_and_compressed(self):
        with self.assertRaises(baseline.BaselineSetupError):
            linuxmacro.module_order("x", ("nvme",), root=self.root())
        with self.assertRaises(baseline.BaselineSetupError):
            linuxmacro.module_order("x", ("xfs",), root=self.root())
        with self.assertRaises(baseline.BaselineSetupError):
            linuxmacro.module_order("x", root="/nonexistent")

    def test_builtin_needs_nothing(self):
        d = self.root("kernel/drivers/virtio/virtio_ring.ko:\n")
        with open(os.path.join(d, "modules.builtin"), "w") as f:
            f.write("kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/block/virtio_blk.ko\n")
        self.assertEqual(linuxmacro.module_order("x", root=d), [])

    def test_initramfs_lists_the_modules(self):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "m"))
        for name in ("a.ko", "b.ko"):
            with open(os.path.join(d, "m", name), "wb") as f:
                f.write(b"\x7fELF" + name.encode())
        prog = os.path.join(d, "prog")
        with open(prog, "wb") as f:
            f.write(b"#!init")
        out = linuxmacro.make_initramfs(prog, ["m/a.ko", "m/b.ko"], os.path.join(d, "i.cpio"), d)
        with open(out, "rb") as f:
            data = f.read()
        self.assertIn(b"modules/order\0", data)
        self.assertIn(b"a.ko\nb.ko\n", data)
        self.assertIn(b"\x7fELFb.ko", data)
        self.assertIn(b"init\0", data)


class Params(unittest.TestCase):
    def test_defaults_match_the_paging_sweep(self):
        p = linuxmacro.DEFAULTS
        self.assertEqual((p["frames"], p["accesses"], p["write_pct"], p["disk"]),
                         ("16,48", 4000, 20, "16M"))
        words = linuxmacro.linux_args(p, 1, False)
        for w in ("scan_frames=16,48", "scan_patterns=seq,loop,uniform,zipf", "macro_run="):
            self.assertIn(w, words)
        self.assertNotIn("maxcpus", words)
        self.assertIn("maxcpus=1 bench_online=yes", linuxmacro.linux_args(p, 2, True))

    def test_bad_params(self):
        for bad in ({"patterns": "seq,sideways"}, {"run": "memscan,nginx"}, {"frames": "0"},
                    {"write_pct": 101}, {"disk": "lots"}):
            with self.assertRaises(ValueError, msg=bad):
                linuxmacro.check_params(dict(linuxmacro.DEFAULTS, **bad))
        self.assertEqual(linuxmacro.size_bytes("16M"), 16 << 20)


def scan_lines(pattern="loop", frames=16, names=linuxmacro.SCAN_FIGURES):
    return [("EXOJSON " + json.dumps({"figure": n, "linux": n, "unit": "x", "median": 1,
                                      "min": 1, "max": 1, "n": 1, "pattern": pattern,
                                      "frames": frames}) + "\n") for n in names]


class GuestChecks(unittest.TestCase):
    P = dict(linuxmacro.DEFAULTS, run="memscan", patterns="loop", frames="16")
    OK = Outcome(status=baseline.GUEST_PASS, timed_out=False, timeout=60, elapsed=1)

    def text(self, lines, done=True, failures=0):
        return "".join(lines) + (f"linux-macro: done, {len(lines)} figures, {failures}"
                                 f" failures\n" if done else "")

    def test_good(self):
        figs = linuxmacro.check_run(self.OK, self.text(scan_lines()), self.P)
        self.assertEqual(len(figs), len(linuxmacro.SCAN_FIGURES))

    def test_hang_garbage_incomplete(self):
        hung = Outcome(status=None, timed_out=True, timeout=60, elapsed=60)
        with self.assertRaisesRegex(baseline.BaselineError, "did not finish within 60"):
            linuxmacro.check_run(hung, "boot...\n", self.P)
        with self.assertRaisesRegex(baseline.BaselineError, "garbled"):
            linuxmacro.check_run(self.OK, self.text(["EXOJSON {not json\n"]), self.P)
        with self.assertRaisesRegex(baseline.BaselineError, "never finished"):
            linuxmacro.check_run(self.OK, self.text(scan_lines(), done=False), self.P)
        with self.assertRaisesRegex(baseline.BaselineError, "1 failures"):
            linuxmacro.check_run(self.OK, self.text(scan_lines(), failures=1), self.P)
        # The linux-bench done line is not linux-macro's.
        with self.assertRaisesRegex(baseline.BaselineError, "never finished"):
            linuxmacro.check_run(self.OK, "".join(scan_lines())
                                 + "linux-bench: done, 7 figures, 0 failures\n", self.P)

    def test_every_scan_must_be_there(self):
        p = dict(self.P, patterns="loop,zipf")
        with self.assertRaisesRegex(baseline.BaselineError, "left out memscan_faults zipf"):
            linuxmacro.check_run(self.OK, self.text(scan_lines()), p)
        some = scan_lines(names=linuxmacro.SCAN_FIGURES[:-1])
        with self.assertRaisesRegex(baseline.BaselineError, "linux_resident_pages loop"):
            linuxmacro.check_run(self.OK, self.text(some), self.P)
        with self.assertRaisesRegex(baseline.BaselineError, "kv_ops_per_s"):
            linuxmacro.check_run(self.OK, self.text(scan_lines()), dict(self.P, run="memscan,kvstore"))

    def test_a_scan_linux_could_not_run_is_a_result(self):
        p = dict(self.P, patterns="loop,zipf")
        oom = [("EXOJSON " + json.dumps({"figure": "memscan_oom_kills",
                                         "linux": "memscan_oom_kills", "unit": "kills",
                                         "median": 4, "min": 4, "max": 4, "n": 1,
                                         "pattern": "zipf", "frames": 16}) + "\n")]
        figs = linuxmacro.check_run(self.OK, self.text(scan_lines() + oom), p)
        self.assertEqual(figs[-1]["figure"], "memscan_oom_kills")
        rows = baseline.ratio_rows([], figs)
        self.assertIn("memscan_oom_kills", {r.figure for r in rows})

    def test_nothing_cached_from_a_failed_run(self):
        d = tempfile.mkdtemp()
        path = linuxmacro.cache_path(d, "tcg", False, 1)
        self.assertTrue(path.endswith("results/baseline/linux-macro-tcg-smp1.json"))
        self.assertFalse(os.path.exists(path))


class Pairing(unittest.TestCase):
    def setUp(self):
        self.exo = fixture("macro-exocore.json")
        self.linux = fixture("macro-linux.json")
        self.rows = rows_by(baseline.ratio_rows(self.exo, self.linux))

    def test_same_scan_any_pager(self):
        d = "pattern=loop pages=18 frames=16 accesses=4000 write_pct=20"
        lru = self.rows[("memscan_faults", d + " pager=lru", "memscan_faults")]
        mru = self.rows[("memscan_faults", d + " pager=mru", "memscan_faults")]
        self.assertEqual((lru.exocore, lru.linux, mru.exocore, mru.linux), (4000, 3600, 500, 3600))
        self.assertAlmostEqual(mru.ratio, 500 / 3600)
        self.assertEqual(self.rows[("vm_swap_writes", d + " pager=lru", "vm_swap_writes")].ratio, 2)
        self.assertEqual(self.rows[("memscan_rate", d + " pager=lru", "memscan_rate")].ratio, 0.5)
        u = self.rows[("memscan_faults", "pattern=uniform pages=48 frames=16 accesses=4000"
                       " write_pct=20 pager=lru", "memscan_faults")]
        self.assertEqual(u.linux, 1500)

    def test_other_budget_does_not_pair(self):
        r = self.rows[("memscan_faults", "pattern=loop pages=54 frames=48 accesses=4000"
                       " write_pct=20 pager=lru", "memscan_faults")]
        self.assertEqual((r.linux, r.note), (None, "no Linux figure"))

    def test_linux_only_rows(self):
        zipf = self.rows[("memscan_faults", "pattern=zipf pages=48 frames=16 accesses=4000"
                          " write_pct=20 pager=linux", "memscan_faults")]
        self.assertEqual((zipf.exocore, zipf.linux), (None, 99))
        self.assertEqual(zipf.note, "no exocore figure in this run")
        major = self.rows[("linux_major_faults", "pattern=loop pages=18 frames=16 accesses=4000"
                           " write_pct=20 pager=linux", "linux_major_faults")]
        self.assertEqual((major.linux, major.note), (2000, "no exocore figure"))
        self.assertEqual(self.rows[("vm_evictions", "", None)].note, "no counterpart")

    def test_kvstore(self):
        r = self.rows[("kv_ops_per_s", "get_pct=90 skew_pct=80 clients=1", "kv_ops_per_s")]
        self.assertEqual(r.ratio, 4)

    def test_compare_results_takes_micro_and_macro_baselines_together(self):
        micro = [dict(r, smp=1) for r in fixture("baseline-linux.json")]
        exo_micro = [dict(r, smp=1) for r in fixture("baseline-exocore.json")]
        clock = baseline.clock_of(micro[0])
        exo = [dict(r, accel=clock[0], icount=clock[1]) for r in self.exo if r["smp"] == 1]
        macro = [dict(r, accel=clock[0], icount=clock[1]) for r in self.linux if r["smp"] == 1]
        [(got_clock, rows)] = baseline.compare_results(exo + exo_micro, [macro, micro])
        got = rows_by(rows)
        self.assertEqual(got[("null_syscall", "", "getppid")].linux, 335)
        d = "pattern=loop pages=18 frames=16 accesses=4000 write_pct=20 pager=lru"
        self.assertEqual(got[("memscan_faults", d, "memscan_faults")].linux, 3600)

    def test_every_macro_counterpart_is_printed_by_linux_macro(self):
        with open(os.path.join(TOP, linuxmacro.MACRO_SOURCE)) as f:
            src = f.read()
        for c in baseline.MACRO_COUNTERPARTS:
            self.assertIn(f'"{c.linux}"', src)
        for name in ("memscan.c", "kvstore.c"):  # exocore's, once merged
            path = os.path.join(TOP, "workloads", name)
            if os.path.exists(path):
                with open(path) as f:
                    text = f.read()
                for c in baseline.MACRO_COUNTERPARTS:
                    if c.figure.startswith(("memscan", "kv")) and name[:2] == c.figure[:2]:
                        self.assertIn(f'"{c.figure}"', text)


class LoopFigure(unittest.TestCase):
    def test_bars(self):
        exo = fixture("macro-exocore.json")
        linux = fixture("macro-linux.json") + [
            {"figure": "memscan_oom_kills", "linux": "memscan_oom_kills", "pattern": "loop",
             "frames": 48, "median": 4, "min": 4, "max": 4, "n": 1}]
        groups = linuxmacro.loop_faults(exo, linux)
        self.assertEqual(groups[16], [("Linux", 3600, ""), ("lru", 4000, ""), ("mru", 500, "")])
        self.assertEqual(groups[48][0], ("Linux", None, "OOM-killed"))
        self.assertEqual(groups[48][1:], [("lru", 1000, "")])
        svg = linuxmacro.loop_svg(exo, linux)
        self.assertTrue(svg.startswith("<svg") and svg.rstrip().endswith("</svg>"))
        self.assertEqual(svg.count("<rect"), 4)
        self.assertIn("OOM-killed", svg)


class HostRun(unittest.TestCase):
    """linux-macro built and run on the host: the scan's reference strings
    and figures, the pipe server, the swap header writer."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        try:
            cls.prog = linuxmacro.build_macro(TOP, cls.dir)
        except baseline.BaselineSetupError as e:
            raise unittest.SkipTest(str(e))

    def run_prog(self, *args):
        p = subprocess.run([self.prog, *args], capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout

    def test_memscan_every_pattern(self):
        for pattern in linuxmacro.PATTERNS:
            rc, out = self.run_prog("memscan", f"pattern={pattern}", "frames=16", "accesses=2000")
            self.assertEqual(rc, 0, out)
            figures, done = linuxmacro.parse_output(out)
            self.assertEqual(done, (len(linuxmacro.SCAN_FIGURES), 0))
            names = [f["figure"] for f in figures]
            self.assertEqual(names, list(linuxmacro.SCAN_FIGURES))
            pages = {f["pages"] for f in figures}
            self.assertEqual(pages, {18 if pattern == "loop" else 48})
            self.assertTrue(all(f["pattern"] == pattern and f["accesses"] == 2000
                                for f in figures))
            rate = next(f for f in figures if f["figure"] == "memscan_rate")
            self.assertGreater(rate["median"], 0)

    def test_memscan_bad_pattern(self):
        rc, out = self.run_prog("memscan", "pattern=sideways")
        self.assertNotEqual(rc, 0)
        self.assertIn("unknown pattern sideways", out)
        self.assertIn("1 failures", out)

    def test_kvstore(self):
        rc, out = self.run_prog("kvstore", "clients=1", "ops=300")
        self.assertEqual(rc, 0, out)
        figures, done = linuxmacro.parse_output(out)
        self.assertEqual(done, (3, 0))
        lat = next(f for f in figures if f["figure"] == "kv_latency")
        self.assertEqual(lat["n"], 300)
        self.assertLessEqual(lat["median"], lat["p99"])
        ops = next(f for f in figures if f["figure"] == "kv_ops_per_s")
        self.assertGreater(ops["median"], 0)

    def test_swap_header(self):
        """include/linux/swap.h's union swap_header: version 1, last_page and
        nr_badpages at byte 1024, "SWAPSPACE2" in the last ten bytes of page 0."""
        path = os.path.join(self.dir, "swap.img")
        with open(path, "wb") as f:
            f.truncate(64 * 4096 + 100)  # a partial page at the end is not swap
        rc, out = self.run_prog("mkswap", path)
        self.assertEqual(rc, 0, out)
        with open(path, "rb") as f:
            page = f.read(4096)
        version, last_page, nr_bad = struct.unpack_from("<III", page, 1024)
        self.assertEqual((version, last_page, nr_bad), (1, 63, 0))
        self.assertEqual(page[4096 - 10:], b"SWAPSPACE2")
        self.assertEqual(page[:1024], bytes(1024))  # bootbits untouched
        self.assertEqual(os.path.getsize(path), 64 * 4096 + 100)
        small = os.path.join(self.dir, "small.img")
        with open(small, "wb") as f:
            f.truncate(9 * 4096)  # Linux wants at least 10 pages
        rc, _ = self.run_prog("mkswap", small)
        self.assertNotEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
