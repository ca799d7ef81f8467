"""Unit tests of tools/profile: the plugin's window file, the figure lines it
pairs with, and the breakdown by function. No QEMU; the plugin is only
compiled (it must build against the declarations it carries).

    python3 -m unittest discover -s tests/tools -v
"""

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(TOP, "tools", "profile")


def load_tool():
    loader = importlib.machinery.SourceFileLoader("tool_profile", TOOL)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


pr = load_tool()


class FakeSymbols(pr.Symbols):
    def __init__(self, pairs):
        self.addrs = [a for a, _ in pairs]
        self.names = [n for _, n in pairs]


class ProfileTest(unittest.TestCase):
    def test_windows_in_order_with_counts_by_pc_and_vcpu(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "pcprof.out")
            with open(path, "w") as f:
                f.write("window 0\nffffffff80100010 0 7\n400000 0 3\n"
                        "window 1\nwindow 2\nffffffff80100010 1 5\n")
            w = pr.parse_windows(path)
        self.assertEqual(len(w), 3)
        self.assertEqual(w[0], {(0xffffffff80100010, 0): 7, (0x400000, 0): 3})
        self.assertEqual(w[1], {})
        self.assertEqual(w[2], {(0xffffffff80100010, 1): 5})

    def test_only_bench_figures_pair_with_windows(self):
        console = "\n".join([
            'EXOJSON {"figure":"boot_ms","cores":1,"median":60}',
            '[cpu0] env 0: EXOJSON {"figure":"null_syscall","cores_running":1,"n":100}',
            '[cpu0] env 0: EXOJSON {broken',
            '[cpu0] env 0: EXOJSON {"figure":"cap_mint_delete","cores_running":1,"n":100}',
        ])
        self.assertEqual([f["figure"] for f in pr.figures(console)],
                         ["null_syscall", "cap_mint_delete"])

    def test_breakdown_names_kernel_and_user_pcs_by_function_and_vcpu(self):
        k = FakeSymbols([(0xffffffff80100000, "syscall_entry"), (0xffffffff80100100, "sys_x")])
        u = FakeSymbols([(0x400000, "main"), (0x400100, "helper")])
        window = {(0xffffffff80100004, 0): 2, (0xffffffff80100008, 0): 3,
                  (0xffffffff80100104, 1): 4, (0x400104, 0): 1, (0x3fffff, 0): 6}
        got = pr.breakdown(window, k, u)
        self.assertEqual(got["syscall_entry (cpu0)"], 5)
        self.assertEqual(got["sys_x (cpu1)"], 4)
        self.assertEqual(got["user:helper (cpu0)"], 1)
        self.assertEqual(got["user:?0x3fffff (cpu0)"], 6)  # below every symbol
        self.assertEqual(sum(got.values()), sum(window.values()))

    @unittest.skipUnless(shutil.which("cc"), "no C compiler")
    def test_the_plugin_compiles_with_its_own_declarations(self):
        with tempfile.TemporaryDirectory() as d:
            so = os.path.join(d, "pcprof.so")
            r = subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC",
                                "-fvisibility=hidden", "-o", so, pr.SRC],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            syms = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True,
                                  text=True).stdout
            self.assertIn("qemu_plugin_install", syms)
            self.assertIn("qemu_plugin_version", syms)


if __name__ == "__main__":
    unittest.main()
