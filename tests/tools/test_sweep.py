"""Unit tests of the sweep library (spec, results, index, compare, progress)
and of `tools/exo sweep/report/compare` end to end with a stand-in QEMU
(tests/tools/fake-qemu), so no guest boots and every case is fast: failed
points, resuming, --force, ^C, malformed figure lines, a missing QEMU, a
folder from another kernel, a half-written folder.

    python3 -m unittest tests/tools/test_sweep.py -v
"""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import compare, index, progress, results, spec  # noqa: E402

EXO = os.path.join(TOP, "tools", "exo")
FAKE_BIN = os.path.join(TOP, "tests", "tools", "fake-qemu")
SYSTEM_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
POLICIES = {"sched": {"rr": {"quantum_us": "1000"}, "lottery": {"quantum_us": "1000"}},
            "pager": {"clock": {}, "fifo": {}}, "ipc": {}}


def have_matplotlib():
    return subprocess.run([SYSTEM_PYTHON, "-c", "import matplotlib"],
                          capture_output=True).returncode == 0


class SpecTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def load(self, text, programs=("schedmix", "bench"), policies=POLICIES):
        path = os.path.join(self.dir.name, "s.toml")
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip())
        return spec.load(path, TOP, known_programs=list(programs), known_policies=policies)

    def error(self, text, **kw):
        with self.assertRaises(spec.SpecError) as cm:
            self.load(text, **kw)
        return str(cm.exception)

    def test_cross_product_exclude_include(self):
        sp = self.load("""
            [sweep]
            name = "t"
            cores = [1, 2, 4]
            repetitions = 2
            [[workload]]
            name = "schedmix"
            args = { threads = [2, 8] }
            [policies]
            sched = ["rr", "lottery:quantum_us=500"]
            [[exclude]]
            cores = 1
            sched = "lottery:quantum_us=500"
            [[include]]
            workload = "schedmix"
            cores = 8
            """)
        # 3 cores x 2 threads x 2 scheds x 2 reps = 24, minus 1 x 2 x 1 x 2 = 4, plus 1.
        self.assertEqual(len(sp.points), 21)
        p = sp.points[0]
        self.assertEqual(p.words(), "run=schedmix run_cores=1 threads=2 sched=rr")
        self.assertEqual(sp.points[-1].config["cores"], 8)
        self.assertEqual(sp.points[-1].words(), "run=schedmix run_cores=8 threads=2 sched=rr")
        self.assertNotEqual(p.key("a" * 64), p.key("b" * 64))  # the kernel is in the key
        self.assertEqual(p.key("a" * 64), spec.Point(dict(p.config), 9).key("a" * 64))

    def test_boot_workload_words_are_kernel_options(self):
        sp = self.load("""
            [sweep]
            name = "b"
            cores = 2
            icount = [false, true]
            seeds = [7]
            [[workload]]
            name = "boot"
            args = { ipi_rounds = 100 }
            """)
        self.assertEqual([p.words() for p in sp.points], ["ipi_rounds=100 seed=7"] * 2)
        self.assertEqual([p.machine("k").icount for p in sp.points], [False, True])

    def test_errors_name_file_and_line(self):
        head = '[sweep]\nname = "t"\ncores = 1\n'
        cases = [
            (head + "colour = 3\n[[workload]]\nname = \"boot\"\n", 4, "unknown key 'colour'"),
            (head + "[[workload]]\nname = \"nosuch\"\n", 5, "unknown workload 'nosuch'"),
            (head + "[[workload]]\nname = \"bench\"\n[policies]\nsched = [\"fifo\"]\n", 7,
             "unknown sched policy 'fifo'"),
            (head + "[[workload]]\nname = \"bench\"\n[policies]\n"
             "sched = [\"rr:quantum=1\"]\n", 7, "has no parameter 'quantum'"),
            (head + "[[workload]]\nname = \"bench\"\nflavour = 1\n", 6, "unknown key 'flavour'"),
            (head + "[[workload]]\nname = \"bench\"\n[[exclude]]\ncores = 9\n", 6,
             "matches no point"),
            (head + "[[workload]]\nname = \"bench\"\nrun_cores = 4\n", 6, "run_cores = 4"),
            ('[sweep]\nname = "t"\ncores = "many"\n[[workload]]\nname = "boot"\n', 3,
             "want a whole number"),
            (head + "[[workload]]\nname = \"bench\"\nargs = { run = \"x\" }\n", 6,
             "set by the sweep itself"),
            (head + "[[workload]]\nname = \"bench\"\n[[include]]\nworkload = \"bench\"\n"
             "sched = \"fifo\"\n", 8, "include: unknown sched policy 'fifo'"),
        ]
        for text, line, msg in cases:
            with self.subTest(msg=msg):
                err = self.error(text)
                self.assertIn(f"s.toml:{line}: ", err)
                self.assertIn(msg, err)

    def test_disk_and_icount_reach_qemu(self):
        sp = self.load('[sweep]\nname = "d"\ncores = 2\ndisk = "64M"\nicount = true\n'
                       '[[workload]]\nname = "boot"\n')
        from exolib import qemu
        cmd = qemu.command(sp.points[0].machine("k.elf", "/tmp/x.disk"))
        self.assertEqual(cmd[cmd.index("-drive") + 1], "file=/tmp/x.disk,format=raw,if=virtio")
        self.assertIn("-icount", cmd)
        self.assertEqual(cmd[cmd.index("-append") + 1], "accel=tcg icount=yes")

    def test_bad_toml_names_the_line(self):
        err = self.error('[sweep]\nname = "t"\ncores = [1,\n')
        self.assertRegex(err, r"s\.toml:\d+: not valid TOML")

    def test_no_policies_built_is_said(self):
        err = self.error('[sweep]\nname = "t"\ncores = 1\n[[workload]]\nname = "bench"\n'
                         '[policies]\nsched = ["rr"]\n', policies=None)
        self.assertIn("no policies built yet", err)

    def test_policies_with_the_boot_workload_are_refused(self):
        err = self.error('[sweep]\nname = "t"\ncores = 1\n[[workload]]\nname = "boot"\n'
                         '[policies]\nsched = ["rr"]\n')
        self.assertIn("the boot workload runs none", err)

    def test_shipped_specs_are_valid(self):
        """Against the build's programs and policies (ninja release first)."""
        if not os.path.isdir(os.path.join(TOP, "build", "release", "user")):
            self.skipTest("needs ninja release (the shipped specs use the release build)")
        for name in sorted(os.listdir(os.path.join(TOP, "sweeps"))):
            if name.endswith(".toml"):
                with self.subTest(spec=name):
                    sp = spec.load(os.path.join(TOP, "sweeps", name), TOP)
                    self.assertTrue(sp.points)


class ResultsTest(unittest.TestCase):
    def test_figure_identity(self):
        d = {"figure": "ipi_rtt", "from": 0, "to": 3, "unit": "cycles", "median": 5,
             "min": 1, "max": 9, "n": 10, "accel": "tcg"}
        self.assertEqual(results.figure_id(d), "ipi_rtt from=0 to=3")
        self.assertEqual(results.stats(d), (5, 1, 9, 10))
        self.assertEqual(results.stats({"figure": "boot_ms", "value": 2.5}), (2.5, 2.5, 2.5, 1))
        # boot_ms's cores repeats the point's: one series across core counts.
        self.assertEqual(results.series_id({"figure": "boot_ms", "cores": 4, "value": 1},
                                           {"cores": 4}), "boot_ms")

    def test_aggregate_over_repetitions(self):
        cfg = {"workload": "bench", "args": {}, "policies": {}, "cores": 2, "icount": False,
               "accel": "tcg", "mem": "512M"}
        rows = [{"config": dict(cfg, rep=i), "data": {"figure": "f", "unit": "cycles",
                                                     "median": m, "min": m - 1, "max": m + 2,
                                                     "n": 10}}
                for i, m in enumerate((10, 30, 20))]
        (key, a), = results.aggregate(rows).items()
        self.assertEqual(key, ("bench", 2, "f"))
        self.assertEqual((a["median"], a["min"], a["max"], a["n"], a["reps"], a["clock"]),
                         (20, 9, 32, 30, 3, "tcg"))

    def test_compare_flags_changes_beyond_the_spread(self):
        cfg = {"workload": "bench", "args": {}, "policies": {}, "cores": 1, "icount": True,
               "accel": "tcg", "mem": "512M", "rep": 0}

        def rows(med, spread):
            return [{"config": cfg, "data": {"figure": "null_syscall", "unit": "cycles",
                                             "median": med, "min": med - spread,
                                             "max": med + spread, "n": 5}}]
        (row,), _, _ = compare.compare(rows(100, 5), rows(103, 5))
        self.assertFalse(row.flagged)
        (row,), _, _ = compare.compare(rows(100, 5), rows(150, 5))
        self.assertTrue(row.flagged)
        self.assertAlmostEqual(row.ratio, 1.5)
        self.assertIn(" !", compare.table([row])[1])

    def test_first_figure_is_seen_across_tiny_chunks(self):
        from exolib import sweep
        f = sweep.FirstFigure(0)
        for b in b"[cpu0] boot: x\n[cpu0] EXOJSON {}\n":
            f.write(bytes([b]))
        self.assertIsNotNone(f.at)
        g = sweep.FirstFigure(0)
        g.write(b"no figure here\n")
        self.assertIsNone(g.at)

    def test_figure_table_has_a_seam_for_linux(self):
        from exolib import sweepreport
        agg = {("bench", 1, "null_syscall"): {"median": 300, "min": 290, "max": 400, "n": 10,
                                              "reps": 1, "clock": "instructions",
                                              "unit": "cycles"}}
        plain = sweepreport.figure_table(agg)
        self.assertEqual(plain[0][-1], "clock")
        linux = sweepreport.figure_table(agg, {("bench", 1, "null_syscall"): {"median": 150}})
        self.assertEqual(linux[0][-2:], ["Linux", "ratio"])
        self.assertEqual(linux[1][-2:], ["150", "2.00"])
        none = sweepreport.figure_table(agg, {})
        self.assertEqual(none[1][-2:], ["no counterpart", ""])  # said, not left blank

    def test_progress_lines_have_count_and_eta(self):
        out = io.StringIO()
        p = progress.Progress(3, 1, stream=out, bar=False)
        p.point("ok a")
        p.point("ok b")
        p.close()
        lines = out.getvalue().splitlines()
        self.assertRegex(lines[0], r"^\[2/3, ETA \d+s\] ok a$")
        self.assertEqual(lines[1], "[3/3] ok b")


class PlotTest(unittest.TestCase):
    def setUp(self):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            self.skipTest("needs python3-matplotlib (run under /usr/bin/python3)")

    def cfg(self, **kw):
        c = {"workload": "pagemix", "args": {}, "policies": {}, "cores": 1, "icount": False,
             "accel": "tcg", "mem": "512M", "rep": 0, "frames": None}
        c.update(kw)
        return c

    def test_frames_shares_percentiles_and_boot_figures(self):
        from exolib import plot
        rows = []
        for pager in ("clock", "fifo"):
            for frames in (64, 128):
                rows.append({"config": self.cfg(frames=frames, policies={"pager": pager}),
                             "data": {"figure": "faults", "unit": "faults",
                                      "value": 1000 // frames}})
        for sched in ("rr", "lottery"):
            for t in (0, 1):
                rows.append({"config": self.cfg(workload="schedmix", policies={"sched": sched}),
                             "data": {"figure": "cpu_share", "unit": "share", "thread": t,
                                      "value": 0.5}})
        # The kernel's boot figure in a boot point and in a program's: plotted from boot only.
        for w in ("boot", "pagemix"):
            for cores in (1, 2):
                rows.append({"config": self.cfg(workload=w, cores=cores),
                             "data": {"figure": "boot_ms", "unit": "ms", "value": cores,
                                      "cores": cores}})
        self.assertEqual(len(plot.kernel_figures_from_boot(rows)), len(rows) - 2)
        with tempfile.TemporaryDirectory() as d:
            made = {p["name"] for p in plot.plot_run(rows, d)}
            self.assertEqual(made, {"frames-faults", "shares-cpu_share", "cores-boot_ms"})
            self.assertTrue(os.path.getsize(os.path.join(d, "frames-faults.svg")))


class FakeSweepTest(unittest.TestCase):
    """tools/exo sweep with the stand-in QEMU."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.root = os.path.join(self.dir.name, "results")
        self.kernel = os.path.join(self.dir.name, "kernel.elf")
        with open(self.kernel, "wb") as f:
            f.write(b"\x7fELF fake kernel")
        self.env = dict(os.environ, PATH=FAKE_BIN + os.pathsep + os.environ["PATH"])

    def write_spec(self, body, name="fake"):
        path = os.path.join(self.dir.name, f"{name}.toml")
        with open(path, "w") as f:
            f.write(f'[sweep]\nname = "{name}"\nmode = "debug"\ntimeout = 20\n' + body)
        return path

    def exo(self, *args, env=None):
        return subprocess.run([SYSTEM_PYTHON, EXO, *args], capture_output=True, text=True,
                              env=env or self.env, timeout=120)

    def sweep(self, path, *extra):
        return self.exo("sweep", path, "--results", self.root, "--kernel", self.kernel,
                        "--no-progress", *extra)

    def runs(self, name="fake"):
        return results.runs_of(self.root, name)

    def test_failed_point_is_recorded_and_the_sweep_goes_on_then_resumes(self):
        path = self.write_spec('cores = [1, 2]\n[[workload]]\nname = "boot"\n'
                               'args = { fake = ["none", "panic", "badjson"] }\n')
        r = self.sweep(path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("2 ok, 4 failed", r.stdout)
        run = results.RunDir(self.runs()[0])
        res = {x["label"]: x for x in run.results()}
        self.assertEqual(res["boot@1 fake=none"]["status"], "ok")
        self.assertIn("got panic (QEMU status 5): fake panic", res["boot@2 fake=panic"]["reason"])
        self.assertIn("not a JSON object", res["boot@1 fake=badjson"]["reason"])
        for x in res.values():  # every point's log is kept
            self.assertTrue(os.path.exists(run.file(x["log"])))
        meta = run.meta()
        for k in ("commit", "dirty", "qemu", "accel", "icount", "cpu_model", "load_at_start",
                  "started", "spec", "spec_text", "kernel_sha256", "cmdlines"):
            self.assertIn(k, meta)
        self.assertEqual(meta["qemu"], "7.2.99 (fake)")
        self.assertEqual(meta["status"], "complete")
        raw = [json.loads(l) for l in open(run.file("raw.jsonl"))]
        self.assertTrue(all("point" in f and "config" in f and "accel" in f for f in raw))
        with open(run.file("summary.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertIn("ipi_rtt from=0 to=1", {r["id"] for r in rows})
        # The index has it all.
        self.assertEqual(index.query(self.root, "SELECT status, COUNT(*) FROM points"
                                                " GROUP BY status ORDER BY status"),
                         [("failed", 4), ("ok", 2)])
        # A rerun resumes in the same folder: only the failed points run again,
        # and their failed attempts are kept.
        r = self.sweep(path)
        self.assertIn("4 of 6 points to run (resuming)", r.stdout)
        self.assertEqual(len(self.runs()), 1)
        key = res["boot@2 fake=panic"]["key"]
        self.assertTrue(os.path.exists(run.file("points", f"{key}.failed-1.json")))
        self.assertTrue(os.path.exists(run.file("logs", f"{key}.failed-1.log")))

    def test_done_is_skipped_and_force_makes_a_new_folder(self):
        path = self.write_spec('cores = [1, 2]\n[[workload]]\nname = "boot"\n')
        self.assertEqual(self.sweep(path).returncode, 0)
        first = self.runs()[0]
        before = open(os.path.join(first, "summary.csv")).read()
        with open(path, "a") as f:
            f.write("# a comment changes nothing\n")
        r = self.sweep(path)
        self.assertEqual(r.returncode, 0)
        self.assertIn("all 2 points done", r.stdout)
        r = self.sweep(path, "--force")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(len(self.runs()), 2)
        self.assertEqual(open(os.path.join(first, "summary.csv")).read(), before)
        # Another kernel build: the old folder is not resumed, nor touched.
        with open(self.kernel, "ab") as f:
            f.write(b"rebuilt")
        r = self.sweep(path)
        self.assertIn("2 of 2 points to run into", r.stdout)
        self.assertEqual(len(self.runs()), 3)

    def test_interrupt_leaves_a_consistent_folder_and_resumes(self):
        path = self.write_spec('cores = 1\n[[workload]]\nname = "boot"\n'
                               'args = { fake_sleep = [0, 30] }\n')
        p = subprocess.Popen([SYSTEM_PYTHON, EXO, "sweep", path, "--results", self.root,
                              "--kernel", self.kernel, "--no-progress", "-j", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = self.runs()
            if runs and len(os.listdir(os.path.join(runs[0], "points"))) == 1:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, out + err)
        run = results.RunDir(self.runs()[0])
        self.assertEqual(run.meta()["status"], "interrupted")
        self.assertEqual(len(run.results()), 1)  # the interrupted point left no result
        self.assertEqual(len(open(run.file("raw.jsonl")).read().splitlines()), 2)
        self.assertFalse([f for f in os.listdir(run.file("points")) if ".tmp" in f])

    def test_a_hung_point_times_out_and_is_recorded(self):
        path = self.write_spec('cores = 1\n[[workload]]\nname = "boot"\n'
                               'args = { fake = ["none", "hang"] }\ntimeout = 2\n')
        r = self.sweep(path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        res = {x["label"]: x for x in results.RunDir(self.runs()[0]).results()}
        self.assertEqual(res["boot@1 fake=none"]["status"], "ok")
        self.assertTrue(res["boot@1 fake=hang"]["timed_out"])
        self.assertIn("timeout after 2 s", res["boot@1 fake=hang"]["reason"])

    def test_a_disk_is_attached_and_removed(self):
        path = self.write_spec('cores = 1\ndisk = "1M"\n[[workload]]\nname = "boot"\n')
        self.assertEqual(self.sweep(path).returncode, 0)
        run = results.RunDir(self.runs()[0])
        (res,) = run.results()
        self.assertEqual(res["config"]["disk"], "1M")
        self.assertFalse([f for f in os.listdir(run.file("logs")) if f.endswith(".disk")])

    def test_missing_qemu_is_a_clear_error(self):
        path = self.write_spec('cores = 1\n[[workload]]\nname = "boot"\n')
        env = dict(self.env, PATH="/nonexistent")
        r = self.exo("sweep", path, "--results", self.root, "--kernel", self.kernel, env=env)
        self.assertEqual(r.returncode, 2)
        self.assertIn("qemu-system-x86_64 is not on PATH", r.stderr)
        self.assertFalse(os.path.exists(self.root))

    def test_bad_spec_is_refused_before_anything_runs(self):
        path = self.write_spec('cores = 1\nbogus = 2\n[[workload]]\nname = "boot"\n')
        r = self.sweep(path)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"fake\.toml:6: unknown key 'bogus'")
        self.assertFalse(os.path.exists(self.root))

    def test_half_written_folder_is_a_clear_error_and_not_resumed(self):
        path = self.write_spec('cores = 1\n[[workload]]\nname = "boot"\n')
        self.sweep(path)
        first = self.runs()[0]
        os.remove(os.path.join(first, "meta.json"))
        r = self.exo("report", first, "--results", self.root)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a sweep run", r.stderr)
        r = self.sweep(path)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(len(self.runs()), 2)
        # The index is made again from the files; the damaged folder is named.
        r = self.exo("reindex", "--results", self.root)
        self.assertEqual(index.query(self.root, "SELECT COUNT(*) FROM runs"), [(1,)])

    def test_report_without_matplotlib_says_what_to_install(self):
        path = self.write_spec('cores = 1\n[[workload]]\nname = "boot"\n')
        self.sweep(path)
        hide = ("import sys, runpy; sys.modules['matplotlib'] = None;"
                f" sys.argv = ['exo', 'report', {self.runs()[0]!r}, '--results', {self.root!r}];"
                f" runpy.run_path({EXO!r}, run_name='__main__')")
        r = subprocess.run([SYSTEM_PYTHON, "-c", hide], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("apt-get install python3-matplotlib", r.stderr)

    @unittest.skipUnless(have_matplotlib(), "needs python3-matplotlib")
    def test_report_and_compare(self):
        path = self.write_spec('cores = [1, 2, 4]\n[[workload]]\nname = "boot"\n')
        self.sweep(path)
        self.sweep(path, "--force")
        a, b = self.runs()
        r = self.exo("report", a, "--results", self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(os.path.join(a, "report", "report.html"), r.stdout)
        r = self.sweep(path, "--report")  # all done: says so, and where the report is
        self.assertIn("all 3 points done", r.stdout)
        self.assertIn(os.path.join(b, "report", "report.html"), r.stdout)
        rep = os.path.join(a, "report")
        for name in ("cores-boot_ms", "cores-ipi_rtt", "percentiles-null_syscall"):
            for ext in ("png", "svg"):
                self.assertTrue(os.path.getsize(os.path.join(rep, "plots", f"{name}.{ext}")))
        md = open(os.path.join(rep, "report.md")).read()
        html = open(os.path.join(rep, "report.html")).read()
        for text in (md, html):
            self.assertIn("TCG: these numbers are emulator wall-clock", text)
            self.assertIn("kernel_sha256", text)
        self.assertIn("data:image/png;base64,", html)
        self.assertNotIn("src='plots/", html)  # self-contained
        r = self.exo("compare", a, b, "--results", self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("figures compared", r.stdout)
        self.assertIn("ipi_rtt from=0 to=1", r.stdout)


if __name__ == "__main__":
    unittest.main()
