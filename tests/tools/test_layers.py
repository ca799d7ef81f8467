"""tools/check-layers: each layer's files are classified, wrong-way includes
are found, sanctioned ones are not, and the tree itself passes.

    python3 -m unittest tests/tools/test_layers.py -v
"""

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(TOP, "tools", "check-layers")


def load():
    loader = importlib.machinery.SourceFileLoader("tool_check_layers", TOOL)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Layers(unittest.TestCase):
    def setUp(self):
        self.cl = load()
        self.tmp = tempfile.TemporaryDirectory()
        self.cl.TOP = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, path, text):
        full = os.path.join(self.tmp.name, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def test_files_and_includes_have_their_layers(self):
        cl = self.cl
        self.assertEqual(cl.layer_of_file("core/lib/string.c"), "base")
        self.assertEqual(cl.layer_of_file("core/include/exo/errors.h"), "base")
        self.assertEqual(cl.layer_of_file("core/include/exo/env.h"), "core")
        self.assertEqual(cl.layer_of_file("core/arch/x86_64/include/arch/cpu.h"), "arch")
        self.assertEqual(cl.layer_of_file("core/arch/x86_64/apic.c"), "machine")
        self.assertEqual(cl.layer_of_file("percpu/chan.c"), "percpu")
        self.assertEqual(cl.layer_of_file("core/cap.c"), "core")
        self.assertEqual(cl.layer_of_file("workloads/bench/main.c"), "user")
        self.assertIsNone(cl.layer_of_file("tests/host/cap_test.c"))
        self.assertEqual(cl.layer_of_include("exo/spinlock.h"), "arch")
        self.assertEqual(cl.layer_of_include("percpu.h"), "percpu")
        self.assertEqual(cl.layer_of_include("exo/xcall.h"), "core")
        self.assertIsNone(cl.layer_of_include("stdint.h"))

    def test_wrong_way_includes_are_found(self):
        self.write("percpu/chan.c", "#include <exo/env.h>\n#include <exo/errors.h>\n")
        self.write("core/lib/x.c", "#include <percpu.h>\n")
        self.write("core/cap.c", "#include <exo/env.h>\n#include <exo/pot.h>\n")
        self.write("workloads/w.c", "#include <libos/libos.h>\n#include <exo/cap.h>\n")
        self.write("core/env.c", "#include <libos/args.h>\n")
        bad = {p: self.cl.violations(p) for p in
               ("percpu/chan.c", "core/lib/x.c", "core/cap.c", "workloads/w.c", "core/env.c")}
        self.assertEqual(len(bad["percpu/chan.c"]), 1)
        self.assertIn("exo/env.h", bad["percpu/chan.c"][0])
        self.assertEqual(len(bad["core/lib/x.c"]), 1)
        self.assertEqual(len(bad["core/cap.c"]), 1)
        self.assertIn("exo/pot.h", bad["core/cap.c"][0])
        self.assertEqual(len(bad["workloads/w.c"]), 1)
        self.assertEqual(len(bad["core/env.c"]), 1)

    def test_sanctioned_and_local_includes_pass(self):
        self.write("core/arch/x86_64/trap.c",
                   '#include <exo/env.h>\n#include "acpi.h"\n#include <percpu.h>\n')
        self.assertEqual(self.cl.violations("core/arch/x86_64/trap.c"), [])

    def test_the_tree_passes(self):
        p = subprocess.run([sys.executable, TOOL], capture_output=True, text=True, cwd=TOP)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertTrue(p.stdout.strip().endswith("0 failed"))


if __name__ == "__main__":
    unittest.main()
