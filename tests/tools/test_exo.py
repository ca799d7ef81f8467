"""Unit tests of tools/exo and tools/check: the console-log parser, the
verdicts, the manifest, QEMU command lines and the KVM probe cache. No QEMU
is started; logs are small inline samples.

    python3 -m unittest discover -s tests/tools -v
"""

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import kvmprobe, logparse, manifest, meta, qemu, report, verdict  # noqa: E402


def load_script(name):
    """Import an extension-less script in tools/ as a module."""
    path = os.path.join(TOP, "tools", name)
    loader = importlib.machinery.SourceFileLoader(f"tool_{name.replace('-', '_')}", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def sample(text):
    return textwrap.dedent(text).lstrip("\n")


PASS_LOG = sample("""
    \x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2)\r
    Booting from ROM..[cpu0] exocore: booting; command line 'test=all accel=tcg'
    [cpu1] smp: online
    [cpu0] smp: 2 of 2 cores online; timer lapic-oneshot
    [cpu0] EXOJSON {"figure":"boot_ms","unit":"ms","value":12.5,"cores":2,"accel":"tcg"}
    [cpu0] test: RUN boot.cores_online
    [cpu0] test: PASS boot.cores_online
    [cpu0] test: RUN ipi.pairs
    [cpu1] test: DONE ipi.pairs
    [cpu0] test: PASS ipi.pairs
    [cpu0] test: SKIP ipi.many: needs 4 cores, 2 online
    2 passed, 0 failed
    [cpu0] exit: pass
    """)

FAILED_LOG = sample("""
    [cpu0] smp: 4 of 4 cores online
    [cpu0] test: RUN boot.cores_online
    [cpu0] test: PASS boot.cores_online
    [cpu0] test: RUN ipi.pairs
    [cpu2] test: FAIL ipi.pairs: tests/guest/ipi.c:40: rtt > 0: 0 != 1
    [cpu0] test: FAIL ipi.pairs: 1 check(s) failed
    1 passed, 1 failed
    [cpu0] exit: fail
    """)

PANIC_LOG = sample("""
    [cpu0] smp: 2 of 2 cores online
    [cpu0] test: RUN vm.map
    [cpu0] PANIC: page fault at 0x0 in kernel mode
    [cpu0]   rsp ffffffff80117d60
    [cpu0] backtrace:
    [cpu0]   #0 0xffffffff80101ac7 panic+0x97
    [cpu0]   #1 0xffffffff801009b0 kernel_main+0x390
    """)

PROGRAM_LOG = sample("""
    [cpu0] smp: 2 of 2 cores online; timer lapic-oneshot
    [cpu1] env 1: gfuzz: cpu 1 done: 5000 operations in 272 programs, 124 skipped, seed 1
    [cpu0] env 0: gfuzz: cpu 0 done: 5000 operations in 292 programs, 170 skipped, seed 1
    [cpu0] run: gfuzz on cpu0 exited with 0
    [cpu0] run: gfuzz on cpu1 exited with 0
    [cpu0] exit: pass
    """)

MISSING_CORE_LOG = PASS_LOG.replace("2 of 2 cores online", "1 of 2 cores online")
NO_SUMMARY_LOG = PASS_LOG.replace("2 passed, 0 failed\n", "")


def outcome(status=1, timed_out=False, timeout=120, elapsed=1.5):
    return verdict.Outcome(status=status, timed_out=timed_out, timeout=timeout, elapsed=elapsed)


def expect(v="pass", output=(), cores=2):
    return verdict.Expect(verdict=v, output=output, cores=cores)


class LogParserTest(unittest.TestCase):
    def test_pass_log(self):
        log = logparse.parse_log(PASS_LOG)
        self.assertEqual(log.summary, (2, 0))
        self.assertEqual(log.cores, (2, 2))
        self.assertIsNone(log.panic)
        self.assertEqual(log.pass_lines(), 2)
        self.assertEqual([(o.name, o.status) for o in log.outcomes()],
                         [("boot.cores_online", "PASS"), ("ipi.pairs", "PASS"),
                          ("ipi.many", "SKIP")])
        self.assertEqual(log.outcomes()[2].details, ["needs 4 cores, 2 online"])

    def test_figures_keep_their_core(self):
        log = logparse.parse_log(PASS_LOG)
        self.assertEqual(len(log.figures), 1)
        self.assertEqual(log.figures[0].cpu, 0)
        self.assertEqual(log.figures[0].data["figure"], "boot_ms")
        self.assertEqual(log.figures[0].data["value"], 12.5)

    def test_firmware_escapes_and_carriage_returns_are_dropped(self):
        log = logparse.parse_log(PASS_LOG)
        self.assertEqual(log.lines[0], "SeaBIOS (version 1.16.2)")
        self.assertEqual(logparse.split_tag(log.lines[1]),
                         (0, "exocore: booting; command line 'test=all accel=tcg'"))

    def test_a_failed_test_is_one_outcome_with_every_check(self):
        log = logparse.parse_log(FAILED_LOG)
        failed = [o for o in log.outcomes() if o.status == "FAIL"]
        self.assertEqual(len(failed), 1)
        self.assertEqual(failed[0].name, "ipi.pairs")
        self.assertEqual(failed[0].details[0], "tests/guest/ipi.c:40: rtt > 0: 0 != 1")
        self.assertEqual(log.summary, (1, 1))

    def test_panic_and_unfinished_test(self):
        log = logparse.parse_log(PANIC_LOG)
        self.assertEqual(log.panic, "page fault at 0x0 in kernel mode")
        self.assertEqual([(o.name, o.status) for o in log.outcomes()], [("vm.map", "UNFINISHED")])
        self.assertIsNone(log.summary)

    def test_a_tagged_summary_is_not_the_summary(self):
        log = logparse.parse_log("[cpu0] 3 passed, 0 failed\n")
        self.assertIsNone(log.summary)

    def test_bad_exojson_is_kept_aside(self):
        log = logparse.parse_log('[cpu1] EXOJSON {"figure":"x", "val\n[cpu1] EXOJSON [1]\n')
        self.assertEqual(log.figures, [])
        self.assertEqual(len(log.bad_figures), 2)


class VerdictTest(unittest.TestCase):
    def test_pass(self):
        log = logparse.parse_log(PASS_LOG)
        self.assertEqual(verdict.judge(expect(), outcome(1), log), [])
        self.assertIsNone(verdict.run_reason(outcome(1), log))

    def test_failed_test(self):
        log = logparse.parse_log(FAILED_LOG)
        problems = verdict.judge(expect(cores=4), outcome(3), log)
        self.assertIn("expected the guest verdict pass, got fail (QEMU status 3)", problems)
        self.assertIn("the guest's summary reports 1 failed", problems)
        self.assertEqual(verdict.run_reason(outcome(3), log), "test failed: ipi.pairs")

    def test_panic_expected_and_unexpected(self):
        log = logparse.parse_log(PANIC_LOG)
        self.assertEqual(verdict.judge(expect("panic", ("PANIC:", r"#\d+ .*kernel_main")),
                                       outcome(5), log), [])
        problems = verdict.judge(expect(), outcome(5), log)
        self.assertTrue(problems[0].startswith("expected the guest verdict pass, got panic"))
        self.assertIn("page fault at 0x0", problems[0])
        self.assertEqual(verdict.run_reason(outcome(5), log),
                         "panic: page fault at 0x0 in kernel mode")

    def test_missing_core(self):
        log = logparse.parse_log(MISSING_CORE_LOG)
        self.assertEqual(verdict.judge(expect(cores=2), outcome(1), log),
                         ["1 of 2 cores online, expected 2"])

    def test_no_cores_line(self):
        log = logparse.parse_log("1 passed, 0 failed\n[cpu0] test: PASS a.b\n[cpu0] exit: pass\n")
        self.assertEqual(verdict.judge(expect(cores=1), outcome(1), log),
                         ["no 'smp: K of M cores online' line in the log"])

    def test_missing_summary(self):
        log = logparse.parse_log(NO_SUMMARY_LOG)
        self.assertEqual(verdict.judge(expect(), outcome(1), log),
                         ["no summary line 'N passed, N failed' in the log"])

    def test_summary_must_agree_with_pass_lines(self):
        log = logparse.parse_log(PASS_LOG.replace("2 passed", "3 passed"))
        self.assertEqual(verdict.judge(expect(), outcome(1), log),
                         ["the guest's summary says 3 passed but it printed 2 'test: PASS' lines"])

    def test_timeout(self):
        log = logparse.parse_log(PASS_LOG)
        out = outcome(status=-15, timed_out=True, timeout=120)
        self.assertEqual(verdict.run_reason(out, log), "timeout after 120 s")
        self.assertEqual(verdict.judge(expect(), out, log)[0], "timeout after 120 s")

    def test_triple_fault_has_no_verdict(self):
        log = logparse.parse_log("")
        reason = verdict.run_reason(outcome(0), log)
        self.assertTrue(reason.startswith("no verdict: QEMU exited with status 0"), reason)
        self.assertIn("triple fault", reason)

    def test_expected_output_missing(self):
        log = logparse.parse_log(PASS_LOG)
        self.assertEqual(verdict.judge(expect(output=("^unknown key",)), outcome(1), log),
                         ["expected output /^unknown key/ not found"])

    def test_cores_not_checked_when_not_expected(self):
        log = logparse.parse_log(PANIC_LOG.replace("[cpu0] smp: 2 of 2 cores online\n", ""))
        self.assertEqual(verdict.judge(expect("panic", cores=None), outcome(5), log), [])

    def test_a_program_run_needs_every_copy_to_exit_with_0_and_no_summary(self):
        run = verdict.Expect(cores=2, summary=False, program=("gfuzz", 2))
        self.assertEqual(verdict.judge(run, outcome(1), logparse.parse_log(PROGRAM_LOG)), [])
        failed = PROGRAM_LOG.replace("cpu1 exited with 0", "cpu1 exited with 1").replace(
            "exit: pass", "exit: fail")
        self.assertEqual(verdict.judge(run, outcome(3), logparse.parse_log(failed)),
                         ["expected the guest verdict pass, got fail (QEMU status 3)",
                          "gfuzz on cpu1 exited with 1"])
        self.assertEqual(verdict.run_reason(outcome(3), logparse.parse_log(failed)),
                         "test failed: gfuzz on cpu1 exited with 1")
        missing = PROGRAM_LOG.replace("[cpu0] run: gfuzz on cpu1 exited with 0\n", "")
        self.assertEqual(verdict.judge(run, outcome(1), logparse.parse_log(missing)),
                         ["no 'run: gfuzz on cpu1 exited with ...' line in the log"])
        # Tests and a program: the summary is needed again.
        both = verdict.Expect(cores=2, summary=True, program=("gfuzz", 2))
        self.assertEqual(verdict.judge(both, outcome(1), logparse.parse_log(PROGRAM_LOG)),
                         ["no summary line 'N passed, N failed' in the log"])

    def test_a_hang_of_a_program_run_is_a_timeout(self):
        run = verdict.Expect(cores=2, summary=False, program=("gfuzz", 2))
        out = outcome(status=-15, timed_out=True, timeout=120)
        log = logparse.parse_log(PROGRAM_LOG.split("[cpu0] run:")[0])
        self.assertEqual(verdict.judge(run, out, log)[0], "timeout after 120 s")

    def test_default_cores_caps_at_64(self):
        self.assertEqual(verdict.default_cores(4), 4)
        self.assertEqual(verdict.default_cores(66), 64)


class ReportTest(unittest.TestCase):
    def run_of(self, v="pass", cores=4):
        return manifest.Run(name="smp4", smp=4, args="test=all", expect=expect(v, cores=cores))

    def test_failed_run_lists_tests_problems_and_log_tail(self):
        log = logparse.parse_log(FAILED_LOG)
        rep = report.report(self.run_of(), outcome(3, elapsed=3.21), log, "tcg", "build/logs/smp4.log")
        self.assertEqual(rep.lines[0], "PASS smp4: boot.cores_online")
        self.assertEqual(rep.lines[1], "FAIL smp4: ipi.pairs: tests/guest/ipi.c:40:"
                                       " rtt > 0: 0 != 1 (+1 more in the log)")
        self.assertTrue(rep.lines[2].startswith("FAIL run smp4 (4/4 cores, 3.2 s, tcg): "))
        self.assertIn("  | 1 passed, 1 failed", rep.lines)
        self.assertEqual((rep.passed, rep.failed), (1, 2))

    def test_passing_run_line(self):
        log = logparse.parse_log(PASS_LOG)
        rep = report.report(self.run_of(cores=2), outcome(1, elapsed=0.25), log, "tcg", "x.log")
        self.assertEqual(rep.lines, ["PASS smp4: boot.cores_online", "PASS smp4: ipi.pairs",
                                     "SKIP smp4: ipi.many: needs 4 cores, 2 online",
                                     "PASS run smp4 (2/2 cores, 0.2 s, tcg)"])
        self.assertEqual((rep.passed, rep.failed), (3, 0))

    def test_expected_panic_counts_unfinished_tests_as_xfail(self):
        log = logparse.parse_log(PANIC_LOG)
        rep = report.report(self.run_of("panic", cores=None), outcome(5, elapsed=1.0), log,
                            "kvm", "x.log")
        self.assertEqual(rep.lines, ["XFAIL smp4: vm.map: started but never finished",
                                     "PASS run smp4 (expect panic, 2/2 cores, 1.0 s, kvm)"])
        self.assertEqual((rep.passed, rep.failed), (1, 0))


class QemuCommandTest(unittest.TestCase):
    def test_tcg(self):
        cmd = qemu.command(qemu.Machine(kernel="k.elf", smp=4, args="test=all"))
        joined = " ".join(cmd)
        self.assertEqual(cmd[0], "qemu-system-x86_64")
        for part in ("-machine q35", "-cpu max", "-accel tcg", "-smp 4", "-m 512M",
                     "-nographic", "-no-reboot",
                     "-device isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel k.elf"):
            self.assertIn(part, joined)
        self.assertEqual(cmd[cmd.index("-append") + 1], "test=all accel=tcg")
        self.assertNotIn("-icount", cmd)
        self.assertNotIn("-S", cmd)

    def test_kvm_uses_the_host_cpu(self):
        cmd = qemu.command(qemu.Machine(kernel="k.elf", accel="kvm"))
        self.assertEqual(cmd[cmd.index("-cpu") + 1], "host")
        self.assertEqual(cmd[cmd.index("-append") + 1], "accel=kvm")

    def test_icount_and_gdb(self):
        cmd = qemu.command(qemu.Machine(kernel="k.elf", icount=True, gdb=True))
        self.assertEqual(cmd[cmd.index("-icount") + 1], "shift=0,align=off,sleep=off")
        self.assertEqual(cmd[cmd.index("-gdb") + 1], "tcp::1234")
        self.assertIn("-S", cmd)
        other = qemu.command(qemu.Machine(kernel="k.elf", gdb=True, gdb_port=4321))
        self.assertEqual(other[other.index("-gdb") + 1], "tcp::4321")

    def test_unknown_accel_is_refused(self):
        with self.assertRaises(ValueError):
            qemu.command(qemu.Machine(kernel="k.elf", accel="hvf"))


class ManifestTest(unittest.TestCase):
    def load(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
            f.write(sample(text))
        self.addCleanup(os.unlink, f.name)
        return manifest.load(f.name)

    def test_defaults_and_keys(self):
        a, b = self.load("""
            [a]
            args = test=all   ; a comment
            [b]
            smp = 66
            mem = 1G
            timeout = 600
            slow = yes
            """)
        self.assertEqual((a.name, a.smp, a.args, a.mem, a.timeout, a.slow),
                         ("a", 1, "test=all", "512M", 120, False))
        self.assertEqual((a.expect.verdict, a.expect.cores, a.expect.output), ("pass", 1, ()))
        self.assertEqual((b.smp, b.mem, b.timeout, b.slow, b.expect.cores), (66, "1G", 600, True, 64))

    def test_expect_panic_checks_cores_only_when_given(self):
        p, q = self.load("""
            [p]
            expect = panic
            expect_output = PANIC:
                            \\#\\d+ .*kernel_main
            [q]
            expect = panic
            cores = 2
            """)
        self.assertIsNone(p.expect.cores)
        self.assertEqual(p.expect.output, ("PANIC:", r"\#\d+ .*kernel_main"))
        self.assertEqual(q.expect.cores, 2)

    def test_run_args_expect_each_copy_to_exit_with_0(self):
        t, r, both, one = self.load("""
            [t]
            args = test=all
            [r]
            smp = 4
            args = run=gfuzz run_arg=7 run_cores=8
            [both]
            args = test=boot.* run=hello
            [one]
            smp = 2
            args = run=hello
            """)
        self.assertEqual((t.expect.summary, t.expect.program), (True, None))
        self.assertEqual((r.expect.summary, r.expect.program), (False, ("gfuzz", 4)))
        self.assertEqual((both.expect.summary, both.expect.program), (True, ("hello", 1)))
        self.assertEqual(one.expect.program, ("hello", 1))
        with self.assertRaises(manifest.ManifestError) as cm:
            self.load("[x]\nargs = run=gfuzz run_cores=many\n")
        self.assertIn("run_cores='many'", str(cm.exception))

    def test_errors_name_the_section_and_key(self):
        cases = {"[x]\nsmpp = 2\n": "unknown key(s) smpp",
                 "[x]\nexpect = crash\n": "expect = 'crash'",
                 "[x]\nsmp = 0\n": "smp = '0'",
                 "[x]\ntimeout = soon\n": "timeout = 'soon'",
                 "[x]\nexpect_output = (\n": "is not a regex",
                 "[x]\nslow = perhaps\n": "slow = 'perhaps'"}
        for text, message in cases.items():
            with self.subTest(text=text):
                with self.assertRaises(manifest.ManifestError) as cm:
                    self.load(text)
                self.assertIn("[x]", str(cm.exception))
                self.assertIn(message, str(cm.exception))

    def test_select_by_glob_and_slow(self):
        runs = self.load("[smp1]\n[smp4]\n[big]\nslow = yes\n[smpbig]\nslow = yes\n")
        chosen, slow = manifest.select(runs, "smp*", slow=False)
        self.assertEqual([r.name for r in chosen], ["smp1", "smp4"])
        self.assertEqual([r.name for r in slow], ["smpbig"])
        chosen, slow = manifest.select(runs, None, slow=True)
        self.assertEqual(len(chosen), 4)
        self.assertEqual(slow, [])

    def test_the_suite_manifest_loads(self):
        runs = {r.name: r for r in manifest.load(os.path.join(TOP, "tests", "guest", "manifest.cfg"))}
        for name in ("smp1", "smp2", "smp4", "smp8", "panic", "lowmem", "badcmdline", "toomany"):
            self.assertIn(name, runs)
        self.assertEqual(runs["smp8"].timeout, 300)
        self.assertEqual(runs["panic"].expect.verdict, "panic")
        self.assertEqual(runs["lowmem"].mem, "16M")
        self.assertFalse(runs["toomany"].slow)  # 66 vCPUs boot in seconds: in the suite
        self.assertEqual((runs["toomany"].smp, runs["toomany"].expect.cores), (66, 64))
        # The in-guest fuzzer: 10,000 operations at smp 2, every copy must exit with 0.
        g = runs["gfuzz"]
        self.assertEqual((g.smp, g.expect.verdict, g.expect.program), (2, "pass", ("gfuzz", 2)))
        self.assertIn("gfuzz: cpu 0 done: 5000 operations", g.expect.output)
        self.assertIn("gfuzz: cpu 1 done: 5000 operations", g.expect.output)


class KvmProbeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.kernel = os.path.join(self.dir.name, "kernel.elf")
        with open(self.kernel, "wb") as f:
            f.write(b"\x7fELF not really")
        self.cache = os.path.join(self.dir.name, "build", "kvm-probe.json")
        self.boots = []
        patcher = mock.patch.object(kvmprobe, "device_problem", return_value=None)
        patcher.start()
        self.addCleanup(patcher.stop)

    def booter(self, status, text):
        def boot(machine, timeout):
            self.boots.append((machine, timeout))
            return outcome(status), logparse.parse_log(text)
        return boot

    def test_pass_is_cached_per_kernel_and_qemu(self):
        boot = self.booter(1, "[cpu0] test: PASS probe.ring3\n1 passed, 0 failed\n[cpu0] exit: pass\n")
        first = kvmprobe.probe(self.kernel, "7.2", self.cache, boot)
        again = kvmprobe.probe(self.kernel, "7.2", self.cache, boot)
        self.assertTrue(first["ok"])
        self.assertFalse(first["cached"])
        self.assertTrue(again["ok"] and again["cached"])
        self.assertEqual(len(self.boots), 1)
        machine, timeout = self.boots[0]
        self.assertEqual((machine.accel, machine.smp, machine.args, timeout),
                         ("kvm", 2, "test=probe.*", 30))
        kvmprobe.probe(self.kernel, "8.0", self.cache, boot)
        self.assertEqual(len(self.boots), 2)

    def test_a_changed_kernel_is_probed_again(self):
        boot = self.booter(1, "[cpu0] test: PASS probe.ring3\n1 passed, 0 failed\n[cpu0] exit: pass\n")
        kvmprobe.probe(self.kernel, "7.2", self.cache, boot)
        with open(self.kernel, "ab") as f:
            f.write(b"rebuilt")
        kvmprobe.probe(self.kernel, "7.2", self.cache, boot)
        self.assertEqual(len(self.boots), 2)

    def test_failures(self):
        triple = kvmprobe.probe(self.kernel, "7.2", self.cache, self.booter(0, ""))
        self.assertFalse(triple["ok"])
        self.assertIn("status 0", triple["reason"])
        nothing = kvmprobe.probe(self.kernel, "7.2", self.cache,
                                 self.booter(1, "0 passed, 0 failed\n[cpu0] exit: pass\n"), fresh=True)
        self.assertFalse(nothing["ok"])
        self.assertIn("no 'test: PASS' line", nothing["reason"])


class CheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.check = load_script("check")

    def test_last_summary_wins_and_must_be_alone(self):
        lines = ["3 passed, 0 failed\n", "  | 9 passed, 9 failed\n", "4 passed, 1 failed\n",
                 "done\n", "[cpu0] 7 passed, 0 failed\n"]
        self.assertEqual(self.check.last_summary(lines), (4, 1))
        self.assertIsNone(self.check.last_summary(["  | 1 passed, 0 failed"]))

    def test_crash_and_missing_summary_are_failures(self):
        part = self.check.Part("p", [])
        self.check.judge_part(part, -11, (5, 0))
        self.assertIn("SIGSEGV", part.problem)
        part = self.check.Part("p", [])
        self.check.judge_part(part, 0, None)
        self.assertIn("without a 'N passed, N failed' line", part.problem)
        part = self.check.Part("p", [])
        self.check.judge_part(part, 1, (5, 2))
        self.assertIsNone(part.problem)
        self.assertEqual((part.passed, part.failed), (5, 2))


class MetaTest(unittest.TestCase):
    def test_line_round_trip_and_other_lines(self):
        fields = {"qemu": "7.2", "accel": "tcg", "icount": True, "commit": "abc1234-dirty"}
        self.assertEqual(meta.parse_line(meta.line(fields)), fields)
        self.assertIsNone(meta.parse_line("exo: PASS (1.0 s, log: build/logs/run.log)"))
        self.assertIsNone(meta.parse_line("exo: {not json"))
        self.assertIsNone(meta.parse_line("[cpu0] EXOJSON {}"))


class CheckStyleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.style = load_script("check-style")

    def test_files_in_diff_once_each_in_order(self):
        diff = sample("""
            diff --git a/core/b.c b/core/b.c
            --- a/core/b.c
            +++ b/core/b.c
            @@ -1 +1 @@
            -int x = {1};
            +int x = { 1 };
            diff --git a/core/a.h b/core/a.h
            @@ -3 +3 @@
            diff --git a/core/b.c b/core/b.c
            """)
        self.assertEqual(self.style.files_in_diff(diff), ["core/b.c", "core/a.h"])
        self.assertEqual(self.style.files_in_diff("no modified files to format\n"), [])

    def test_check_plans_style_unless_told_not_to(self):
        check = load_script("check")
        ap_args = check.argparse.Namespace(host=[], python_tests=True, fuzz=False, model=False,
                                           guest=False, mode="debug", style=True)
        self.assertIn("style: tools/check-style", [p.title for p in check.plan(ap_args)])
        ap_args.style = False
        self.assertNotIn("style: tools/check-style", [p.title for p in check.plan(ap_args)])


class ExoCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.exo = load_script("exo")

    def plan(self, *argv):
        return self.exo.plan_runs(self.exo.parser().parse_args(["test", *argv]))

    def test_pattern_naming_no_section_is_a_test_selection(self):
        runs, slow = self.plan("boot.*")
        self.assertEqual([(r.name, r.smp, r.args) for r in runs],
                         [("boot.*@smp1", 1, "test=boot.*"), ("boot.*@smp4", 4, "test=boot.*")])
        runs, _ = self.plan("boot.*", "--smp", "8")
        self.assertEqual([r.smp for r in runs], [8])

    def test_sections_by_glob_skip_slow(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.cfg")
            with open(path, "w") as f:
                f.write("[quick]\nsmp = 1\n\n[long]\nsmp = 2\nslow = yes\n")
            runs, slow = self.plan("*", "--timeout", "7", "--manifest", path)
        self.assertEqual([r.name for r in runs], ["quick"])
        self.assertEqual([r.name for r in slow], ["long"])
        self.assertEqual({r.timeout for r in runs}, {7})

    def test_smp_with_sections_is_refused(self):
        with self.assertRaises(self.exo.SetupError):
            self.plan("smp1", "--smp", "2")

    def test_run_dry_run_prints_the_command(self):
        out = subprocess.run([sys.executable, os.path.join(TOP, "tools", "exo"), "run",
                              "--dry-run", "--smp", "2", "--kernel", "k.elf", "--", "test=all"],
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("-smp 2", out)
        self.assertIn("-kernel k.elf", out)
        self.assertIn("-append 'test=all accel=tcg'", out)

    def test_icount_needs_tcg(self):
        a = self.exo.parser().parse_args(["run", "--dry-run", "--icount", "--accel", "kvm"])
        with self.assertRaises(self.exo.SetupError):
            self.exo.cmd_run(a)


if __name__ == "__main__":
    unittest.main()


class ProgramFigureTest(unittest.TestCase):
    def test_program_figures_are_kept_and_program_test_lines_are_not(self):
        log = logparse.parse_log(
            "[cpu1] env 3: EXOJSON {\"figure\": \"null_syscall\", \"median\": 97}\n"
            "[cpu1] env 3: test: PASS forged.line\n"
            "[cpu0] EXOJSON {\"figure\": \"boot_ms\", \"value\": 1}\n")
        self.assertEqual([f.data["figure"] for f in log.figures], ["null_syscall", "boot_ms"])
        self.assertEqual(log.figures[0].data["env"], 3)
        self.assertEqual(log.tests, [])


class Policies(unittest.TestCase):
    """exo policies: the registry as the build wrote it (policies.json)."""

    REGISTRY = {"sched": [{"name": "rr", "description": "round robin", "file": "policies/sched/rr.c",
                           "params": []},
                          {"name": "lottery", "description": "tickets", "file": "x.c",
                           "params": [{"name": "seed", "default": "1", "help": "the seed"}]}],
                "pager": [], "ipc": []}

    def write(self, top, text):
        os.makedirs(os.path.join(top, "build", "debug"))
        with open(os.path.join(top, "build", "debug", "policies.json"), "w") as f:
            f.write(text)

    def test_lists_kinds_names_descriptions_and_parameters_with_defaults(self):
        import json
        exo = load_script("exo")
        with tempfile.TemporaryDirectory() as top:
            self.write(top, json.dumps(self.REGISTRY))
            entries = exo.catalog.policy_entries(top, "debug")
        text = exo.format_policies(entries)
        self.assertIn("sched:", text)
        self.assertRegex(text, r"rr\s+round robin")
        self.assertRegex(text, r"seed=1\s+the seed")
        self.assertIn("pager: (none yet)", text)

    def test_a_missing_or_broken_registry_is_said_so(self):
        exo = load_script("exo")
        with tempfile.TemporaryDirectory() as top:
            self.assertIsNone(exo.catalog.policy_entries(top, "debug"))
            self.write(top, "{not json")
            with self.assertRaises(exo.catalog.CatalogError):
                exo.catalog.policy_entries(top, "debug")
