"""Unit tests of tools/gfuzz-replay: cutting programs out of in-guest fuzzer
logs (which one, which bytes) and handing them to cap_fuzz. No QEMU; the
cap_fuzz binary is a stand-in script.

    python3 -m unittest discover -s tests/tools -v
"""

import importlib.machinery
import importlib.util
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(TOP, "tools", "gfuzz-replay")


def load_tool():
    loader = importlib.machinery.SourceFileLoader("tool_gfuzz_replay", TOOL)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


gr = load_tool()


def op(env, call, fill):
    """One 56-byte record (fuzz/prog.h): env, call, then six 9-byte arguments."""
    return bytes([env, call]) + bytes([fill]) * 54


def as_env0(records):
    """What the replay writes by default: every call made by env0, as in the guest."""
    return b"".join(b"\0" + r[1:] for r in records)


def log_of(programs, extra=""):
    """A console log in the guest's form: programs is [(core, index, [record...])]."""
    lines = ["[cpu0] smp: 2 of 2 cores online"]
    for core, index, ops in programs:
        lines.append(f"[cpu{core}] env {core}: gfuzz: prog {core}.{index} ops {len(ops)}")
        for i, rec in enumerate(ops):
            lines.append(f"[cpu{core}] env {core}: gfuzz: op {core}.{index}.{i} {rec.hex()}")
    return "\n".join(lines) + "\n" + textwrap.dedent(extra)


A = [op(0, 3, 1), op(1, 8, 2)]
B = [op(2, 11, 3)]
C = [op(0, 5, 4), op(0, 6, 5), op(1, 7, 6)]
THREE = [(0, 0, A), (1, 0, B), (0, 1, C)]


class ParseTest(unittest.TestCase):
    def test_programs_and_their_bytes(self):
        log = gr.parse(log_of(THREE))
        self.assertEqual(list(log.programs), [(0, 0), (1, 0), (0, 1)])
        self.assertEqual(log.programs[(0, 1)].data(), as_env0(C))
        self.assertEqual(log.programs[(0, 1)].data(as_logged=True), b"".join(C))
        self.assertTrue(all(p.complete() for p in log.programs.values()))
        self.assertEqual(len(log.programs[(0, 0)].data()), 2 * gr.OP_BYTES)

    def test_lines_glued_to_a_programs_console_bytes_still_count(self):
        text = log_of([(1, 4, B)]).replace("env 1: gfuzz: op", "env 1: \x01junk without newlinegfuzz: op")
        self.assertEqual(gr.parse(text).programs[(1, 4)].data(True), B[0])

    def test_a_cut_log_replays_what_is_there(self):
        text = "\n".join(log_of([(0, 2, C)]).splitlines()[:-1])  # the last op never printed
        p = gr.parse(text).programs[(0, 2)]
        self.assertFalse(p.complete())
        self.assertEqual(p.data(True), C[0] + C[1])

    def test_malformed_lines_are_refused(self):
        with self.assertRaises(gr.LogError):
            gr.parse("[cpu0] env 0: gfuzz: op 0.0.0 " + "00" * 56)  # no prog line
        with self.assertRaises(gr.LogError):
            gr.parse("gfuzz: prog 0.0 ops 1\ngfuzz: op 0.0.0 " + "00" * 55)


class ChooseTest(unittest.TestCase):
    def test_the_last_program_when_nothing_failed(self):
        p, why = gr.choose(gr.parse(log_of(THREE)))
        self.assertEqual((p.name, why), ("0.1", "the last one in the log"))

    def test_a_fail_line_names_the_program(self):
        log = gr.parse(log_of(THREE, """\
            [cpu1] env 1: gfuzz: FAIL 1.0 op 0: SYS_DEBUG_CHECK: the invariant checker found problems (1)
            [cpu1] env 1: gfuzz: FAIL 1.0: replay with tools/gfuzz-replay LOG --prog 1.0
            """))
        p, why = gr.choose(log)
        self.assertEqual((p.name, p.data(True), why), ("1.0", B[0], "it failed in the guest"))

    def test_a_panic_names_the_last_program_of_its_core(self):
        log = gr.parse(log_of(THREE, "[cpu1] PANIC: page fault at 0x0 in kernel mode\n"))
        self.assertEqual(gr.choose(log)[0].name, "1.0")

    def test_a_fuzzer_that_died_names_its_last_program(self):
        log = gr.parse(log_of(THREE, """\
            [cpu1] env 1: #PF page fault at rip 0x5, cr2 0x5, error 0x14 (no handler): ended
            [cpu0] run: gfuzz on cpu0 exited with 0
            [cpu0] run: gfuzz on cpu1 exited with 142
            """))
        self.assertEqual(gr.choose(log)[0].name, "1.0")

    def test_prog_chooses_and_errors_say_why(self):
        log = gr.parse(log_of(THREE))
        self.assertEqual(gr.choose(log, "0.0")[0].data(True), b"".join(A))
        for bad, message in (("2.0", "no program 2.0"), ("x", "want CORE.INDEX")):
            with self.assertRaises(gr.LogError) as cm:
                gr.choose(log, bad)
            self.assertIn(message, str(cm.exception))
        with self.assertRaises(gr.LogError) as cm:
            gr.choose(gr.parse("[cpu0] 12 passed, 0 failed\n"))
        self.assertIn("not a log of run=gfuzz", str(cm.exception))


class CommandTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.log = os.path.join(self.dir.name, "gfuzz.log")
        with open(self.log, "w") as f:
            f.write(log_of(THREE, "[cpu0] env 0: gfuzz: FAIL 0.0 op 1: x (1)\n"))

    def tool(self, *args):
        return subprocess.run([sys.executable, TOOL, self.log, *args], capture_output=True,
                              text=True, check=False)

    def fake_cap_fuzz(self, status):
        """A cap_fuzz stand-in: saves the input it was given, fails with status."""
        path = os.path.join(self.dir.name, "cap_fuzz")
        with open(path, "w") as f:
            f.write(f"#!/bin/sh\ncp \"$2\" {self.dir.name}/seen.bin\n"
                    f"[ {status} -ne 0 ] && echo 'cap_fuzz: FAIL: state: made up' >&2\n"
                    f"exit {status}\n")
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def test_no_run_writes_the_input(self):
        out = os.path.join(self.dir.name, "p.bin")
        r = self.tool("-o", out, "--no-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("program 0.0 (it failed in the guest): 2 operations", r.stdout)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), as_env0(A))
        self.assertEqual(self.tool("-o", out, "--no-run", "--as-logged").returncode, 0)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"".join(A))

    def test_list(self):
        r = self.tool("--list")
        self.assertEqual(r.stdout.splitlines(), ["0.0: 2 ops", "1.0: 1 ops", "0.1: 3 ops"])

    def test_cap_fuzz_runs_it_and_its_status_is_ours(self):
        out = os.path.join(self.dir.name, "p.bin")
        for status in (0, 1):
            with self.subTest(status=status):
                r = self.tool("--prog", "0.1", "-o", out, "--binary", self.fake_cap_fuzz(status))
                self.assertEqual(r.returncode, status, r.stderr)
                with open(os.path.join(self.dir.name, "seen.bin"), "rb") as f:
                    self.assertEqual(f.read(), as_env0(C))
                self.assertIn("FAIL: state: made up" if status else "every host oracle held",
                              r.stdout)

    def test_missing_program_or_binary_is_status_2(self):
        self.assertEqual(self.tool("--prog", "5.5", "--no-run").returncode, 2)
        r = self.tool("-o", os.path.join(self.dir.name, "p.bin"), "--binary", "/nonexistent")
        self.assertEqual(r.returncode, 2)
        self.assertIn("ninja fuzz", r.stderr)


if __name__ == "__main__":
    unittest.main()
