"""The runner never passes what did not run (issue 12, item 8): one test per
case the issue lists, first on the library with small inline logs, then on
the real commands where they end before any guest boots (QEMU refusing its
command line, exo refusing a request), so no test here waits for a guest.

    python3 -m unittest tests/tools/test_honest.py -v
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import catalog, logparse, request, verdict  # noqa: E402

EXO = os.path.join(TOP, "tools", "exo")
KERNEL = os.path.join(TOP, "build", "debug", "kernel.elf")
HOST_TESTS = os.path.join(TOP, "build", "debug", "host-tests")
HAVE_QEMU = shutil.which("qemu-system-x86_64") is not None


def outcome(status):
    return verdict.Outcome(status=status, timed_out=False, timeout=120, elapsed=0.1)


def exo(*args):
    return subprocess.run([sys.executable, EXO, *args], capture_output=True, text=True,
                          timeout=120)


POLICIES = {"sched": {"rr": {"quantum_us": "1000"}, "lottery": {"quantum_us": "1000",
                                                                  "seed": "1"}},
            "pager": {"clock": {}}, "ipc": {}}


class QemuStatusIsNoVerdictTest(unittest.TestCase):
    """QEMU's exit status 1 is also the guest's pass: only the guest's own
    exit line makes it one."""

    def test_qemu_refusal_is_no_verdict(self):
        for text in ("qemu-system-x86_64: Invalid SMP CPUs 300. The max CPUs supported"
                     " by machine 'pc-q35-7.2' is 288\n",
                     "qemu-system-x86_64: cannot set up guest memory 'pc.ram':"
                     " Cannot allocate memory\n"):
            log = logparse.parse_log(text)
            reason = verdict.run_reason(outcome(1), log)
            self.assertIsNotNone(reason)
            self.assertIn("no verdict", reason)
            self.assertIn(text.strip()[:40], reason)
            self.assertTrue(verdict.judge(verdict.Expect(summary=False), outcome(1), log))

    def test_exit_line_must_agree_with_status(self):
        self.assertEqual(verdict.guest_verdict(
            outcome(1), logparse.parse_log("[cpu0] exit: pass\n")), "pass")
        self.assertIsNone(verdict.guest_verdict(
            outcome(1), logparse.parse_log("[cpu0] exit: fail\n")))
        self.assertIsNone(verdict.guest_verdict(
            outcome(3), logparse.parse_log("[cpu0] exit: pass\n")))
        # A panic's own line is a sign the guest ran (the early panic prints both).
        self.assertEqual(verdict.guest_verdict(
            outcome(5), logparse.parse_log("[cpu0] PANIC: boom\n")), "panic")

    def test_a_program_cannot_forge_the_exit_line(self):
        log = logparse.parse_log("[cpu0] env 0: exit: pass\n")
        self.assertIsNone(log.exit)

    @unittest.skipUnless(HAVE_QEMU and os.path.exists(KERNEL), "needs QEMU and ninja debug")
    def test_exo_run_smp_300_and_mem_16T_fail(self):
        for args in (["--smp", "300"], ["--mem", "16T"]):
            r = exo("run", *args, "--timeout", "60")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("exo: FAIL: no verdict", r.stderr)
            self.assertNotIn("exo: PASS", r.stderr)


class SelectionTest(unittest.TestCase):
    def test_a_selection_that_ran_no_test_fails(self):
        log = logparse.parse_log("[cpu0] smp: 1 of 1 cores online\n0 passed, 0 failed\n"
                                 "[cpu0] exit: pass\n")
        problems = verdict.judge(verdict.Expect(cores=1, selection="timer.cancel_stop"),
                                 outcome(1), log)
        self.assertEqual(problems, ["the selection 'timer.cancel_stop' matched no guest test"
                                    " (tools/exo test --list lists them)"])

    def test_a_selection_whose_tests_were_all_skipped_is_not_a_typo(self):
        log = logparse.parse_log("[cpu0] smp: 1 of 1 cores online\n"
                                 "[cpu0] test: SKIP ipi.pairs: needs 2 cores, 1 online\n"
                                 "0 passed, 0 failed\n[cpu0] exit: pass\n")
        self.assertEqual(verdict.judge(verdict.Expect(cores=1, selection="ipi.*"),
                                       outcome(1), log), [])

    def test_matching_is_the_guests(self):
        tests = ["timer.cancel_stops_it", "timer.fires_on_every_core", "ipi.pairs"]
        self.assertEqual(catalog.matching_tests(tests, "timer.cancel_stop"), [])
        self.assertEqual(catalog.matching_tests(tests, "ipi.*,timer.c*"),
                         ["timer.cancel_stops_it", "ipi.pairs"])
        self.assertEqual(len(catalog.matching_tests(tests, "all")), 3)

    @unittest.skipUnless(os.path.exists(KERNEL), "needs ninja debug")
    def test_guest_tests_are_read_from_the_kernel(self):
        tests = catalog.guest_tests(KERNEL)
        self.assertIn("timer.cancel_stops_it", tests)
        self.assertTrue(all("." in t for t in tests))

    def test_a_file_that_is_not_an_elf_is_a_clear_error(self):
        with tempfile.NamedTemporaryFile(suffix=".elf") as f:
            f.write(b"not an elf")
            f.flush()
            with self.assertRaisesRegex(catalog.CatalogError, "not a 64-bit"):
                catalog.guest_tests(f.name)

    @unittest.skipUnless(os.path.exists(KERNEL), "needs ninja debug")
    def test_exo_test_typo_is_an_error_and_list_lists(self):
        r = exo("test", "timer.cancel_stop")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--list", r.stderr)
        r = exo("run", "--", "test=timer.cancel_stop")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("selection of any guest test", r.stderr)
        r = exo("test", "--list", "timer.*")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("timer.cancel_stops_it", r.stdout.split())

    @unittest.skipUnless(os.path.exists(HOST_TESTS), "needs ninja debug")
    def test_host_tests_pattern_that_selects_nothing_fails(self):
        r = subprocess.run([HOST_TESTS, "cap"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no test matches 'cap'", r.stderr)


class ProgramTest(unittest.TestCase):
    def test_unknown_program_is_refused_with_the_list(self):
        found = request.problems("run=doesnotexist", 1, TOP, "debug",
                                 known_programs=["hello", "memstress"])
        self.assertEqual(found, ["no program 'doesnotexist' in build/debug/user;"
                                 " programs: hello, memstress"])
        self.assertEqual(request.problems("run=hello", 1, TOP, "debug",
                                          known_programs=["hello"]), [])

    def test_the_guests_no_program_line_names_the_programs(self):
        log = logparse.parse_log("[cpu0] run: no program 'doesnotexist'\n[cpu0] exit: fail\n")
        reason = verdict.run_reason(outcome(3), log, ["hello", "memstress"])
        self.assertEqual(reason, "no program 'doesnotexist' in the kernel;"
                                 " programs: hello, memstress")

    def test_more_run_cores_than_cores_is_refused(self):
        self.assertEqual(request.problems("run=hello run_cores=8", 1, TOP, "debug",
                                          known_programs=["hello"]),
                         ["run_cores=8 needs 8 cores; the machine has 1 (raise --smp)"])
        self.assertEqual(request.problems("run=hello run_cores=2", 2, TOP, "debug",
                                          known_programs=["hello"]), [])

    def test_the_guest_running_on_fewer_cores_fails(self):
        log = logparse.parse_log("[cpu0] smp: 1 of 1 cores online\n"
                                 "[cpu0] run: 8 cores asked, 1 online: running on 1\n"
                                 "[cpu0] run: hello on cpu0 exited with 0\n[cpu0] exit: pass\n")
        self.assertEqual(verdict.run_reason(outcome(1), log),
                         "run_cores=8 but only 1 core(s) online")

    def test_the_guest_refusing_more_cores_fails_with_the_reason(self):
        log = logparse.parse_log("[cpu0] smp: 1 of 1 cores online\n"
                                 "[cpu0] run: hello on 8 cores asked, but only 1 are online"
                                 " (boot with more)\n[cpu0] exit: fail\n")
        self.assertEqual(log.cores_short, (8, 1))
        self.assertEqual(verdict.run_reason(outcome(3), log),
                         "run_cores=8 but only 1 core(s) online")

    @unittest.skipUnless(os.path.isdir(os.path.join(TOP, "build", "debug", "user")),
                         "needs ninja debug")
    def test_exo_run_refuses_before_booting(self):
        r = exo("run", "--", "run=doesnotexist")
        self.assertEqual(r.returncode, 2)
        self.assertIn("programs: ", r.stderr)
        self.assertIn("hello", r.stderr)
        r = exo("run", "--", "run=hello", "run_cores=8")
        self.assertEqual(r.returncode, 2)
        self.assertIn("run_cores=8 needs 8 cores", r.stderr)


class PolicyWordTest(unittest.TestCase):
    def test_no_policies_built_is_said(self):
        self.assertEqual(request.problems("run=x sched=rr", 1, TOP, "debug", known_policies=None,
                                          known_programs=["x"]),
                         ["sched=rr: no policies built yet (build/debug/policies.json"
                          " does not exist)"])

    def test_policies_and_parameters_are_checked(self):
        def check(args):
            return request.problems("run=x " + args, 2, TOP, "debug", known_policies=POLICIES,
                                    known_programs=["x"])
        self.assertEqual(check("sched=lottery:quantum_us=500,seed=3 pager=clock"), [])
        self.assertEqual(check("sched=fifo"), ["unknown sched policy 'fifo'; known: lottery, rr"])
        self.assertEqual(check("sched=rr:quantum=5"),
                         ["sched policy 'rr' has no parameter 'quantum'; it has: quantum_us"])
        self.assertEqual(check("ipi=x"), [])  # not a policy kind: the kernel's business
        self.assertIn("is not param=value", check("sched=rr:quantum_us")[0])

    def test_policies_json_is_read(self):
        with tempfile.TemporaryDirectory() as top:
            os.makedirs(os.path.join(top, "build", "debug"))
            with open(os.path.join(top, "build", "debug", "policies.json"), "w") as f:
                json.dump({"sched": [{"name": "rr", "description": "round robin", "params": [
                    {"name": "quantum_us", "default": "1000", "help": "slice"}]}]}, f)
            self.assertEqual(catalog.policies(top, "debug"),
                             {"sched": {"rr": {"quantum_us": "1000"}}})
            self.assertEqual(request.problems("run=x sched=rr:quantum_us=9", 1, top, "debug",
                                              known_programs=["x"]), [])
            self.assertIsNone(catalog.policies(top, "release"))

    def test_an_ignored_word_fails_the_run(self):
        log = logparse.parse_log("[cpu0] cmdline: unknown key 'sched'; ignored\n"
                                 "[cpu0] smp: 1 of 1 cores online\n"
                                 "[cpu0] cmdline: unknown key 'bogus'; ignored\n"  # a guest test's
                                 "[cpu0] exit: pass\n")
        self.assertEqual(log.cmdline_problems, ["unknown key 'sched'"])
        self.assertEqual(verdict.run_reason(outcome(1), log),
                         "the kernel ignored a command-line word: unknown key 'sched'")

    def test_a_policy_without_a_program_is_refused(self):
        found = request.problems("sched=rr", 1, TOP, "debug", known_policies=POLICIES)
        self.assertEqual(found, ["sched=rr: a policy is a program's argument; without"
                                 " run=PROGRAM the kernel would ignore it"])

    @unittest.skipUnless(os.path.exists(KERNEL), "needs ninja debug")
    def test_exo_run_sched_rr_is_refused(self):
        r = exo("run", "--", "sched=rr")
        self.assertEqual(r.returncode, 2)
        self.assertIn("without run=PROGRAM", r.stderr)
        r = exo("run", "--", "run=hello", "sched=nosuch")
        self.assertEqual(r.returncode, 2)
        self.assertTrue("no policies built yet" in r.stderr
                        or "unknown sched policy 'nosuch'" in r.stderr, r.stderr)


class GdbTest(unittest.TestCase):
    def test_gdb_command_follows_mode_and_port(self):
        import importlib.machinery
        import importlib.util
        loader = importlib.machinery.SourceFileLoader("tool_exo_gdb", EXO)
        spec = importlib.util.spec_from_loader(loader.name, loader)
        mod = importlib.util.module_from_spec(spec)
        loader.exec_module(mod)
        cmd = mod.gdb_command("build/release/kernel.elf", 4321)
        self.assertIn("'file build/release/kernel.elf'", cmd)
        self.assertIn("'target remote :4321'", cmd)
        with open(os.path.join(TOP, "tools", "gdbinit")) as f:
            self.assertNotIn("build/debug", "".join(l for l in f if not l.startswith("#")))


if __name__ == "__main__":
    unittest.main()
