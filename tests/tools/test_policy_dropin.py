"""'A policy in one file', proved: in a scratch copy of the tree, a new sched
policy file is added, ./configure.py rerun, the kernel and programs built,
and schedmix run under the new policy; its effect must show in the figures.
Nothing else in the copy is changed. A policy file with a duplicate name, or
one that leaves out a required hook, must fail the build naming its file.

Builds one debug kernel in a temporary folder: about a minute on 2 cores.
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

from exolib import logparse  # noqa: E402

# Always runs the queued thread with the lowest id: a CPU-bound first thread
# takes all the CPU (under rr two such threads share it evenly).
FAVOR_FIRST = """\
/* Test policy: the runnable thread with the lowest id always runs. */
#include <libos/sched_impl.h>

static struct thread *queue[THREAD_MAX];
static unsigned n;

static int ff_init(const uint64_t *params) { n = 0; return 0; }

static void ff_enqueue(struct thread *t, uint64_t now) { queue[n++] = t; }

static void ff_dequeue(struct thread *t)
{
\tfor (unsigned i = 0; i < n; i++)
\t\tif (queue[i] == t) {
\t\t\tqueue[i] = queue[--n];
\t\t\treturn;
\t\t}
}

static struct thread *ff_pick(uint64_t now)
{
\tif (!n)
\t\treturn 0;
\tunsigned best = 0;
\tfor (unsigned i = 1; i < n; i++)
\t\tif (queue[i]->id < queue[best]->id)
\t\t\tbest = i;
\tstruct thread *t = queue[best];
\tqueue[best] = queue[--n];
\treturn t;
}

static const struct sched_ops favor_first = {
\t.info = { .kind = POLICY_SCHED, .name = "favor_first",
\t\t  .description = "the lowest thread id always runs",
\t\t  .params = { { "unused", 7, "a parameter, to show it is listed" } } },
\t.init = ff_init,
\t.enqueue = ff_enqueue,
\t.dequeue = ff_dequeue,
\t.pick = ff_pick,
};
POLICY_REGISTER(favor_first);
"""


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=TOP,
                         capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if not f.startswith("build/") and
            os.path.isfile(os.path.join(TOP, f))]


def copy_tree(dst):
    for f in tracked_files():
        os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(os.path.join(TOP, f), os.path.join(dst, f))


def run(cmd, cwd, timeout=600):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@unittest.skipUnless(shutil.which("qemu-system-x86_64") and shutil.which("ninja"),
                     "needs ninja and qemu-system-x86_64 (./configure.py --install-deps)")
class PolicyInOneFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="exo-dropin-")
        copy_tree(cls.tmp)
        with open(os.path.join(cls.tmp, "policies/sched/favor_first.c"), "w") as f:
            f.write(FAVOR_FIRST)
        # A program that is a folder of two files.
        os.makedirs(os.path.join(cls.tmp, "workloads/twofiles"))
        with open(os.path.join(cls.tmp, "workloads/twofiles/main.c"), "w") as f:
            f.write("#include <libos/libos.h>\nint helper(int x);\n"
                    "int main(uint64_t arg, uint64_t env, uint64_t core)\n"
                    "{\n\tprintf(\"twofiles: %d\\n\", helper(20));\n\treturn 0;\n}\n")
        with open(os.path.join(cls.tmp, "workloads/twofiles/helper.c"), "w") as f:
            f.write("int helper(int x);\nint helper(int x) { return x + 22; }\n")
        r = run([sys.executable, "configure.py"], cls.tmp)
        assert r.returncode == 0, r.stdout + r.stderr
        cls.build = run(["ninja", "build/debug/kernel.elf", "build/debug/policies.json"], cls.tmp,
                        timeout=1200)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_the_new_policy_is_built_listed_and_runs_with_its_effect(self):
        self.assertEqual(self.build.returncode, 0, self.build.stdout[-3000:])
        with open(os.path.join(self.tmp, "build/debug/policies.json")) as f:
            listing = f.read()
        self.assertIn('"favor_first"', listing)
        self.assertIn('"unused"', listing)
        r = run(["tools/exo", "run", "--timeout", "120", "--", "run=schedmix",
                 "sched=favor_first", "threads=2", "duration_ms=60"], self.tmp, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
        log = logparse.parse_log(r.stdout)
        shares = {f.data["thread"]: f.data["median"] for f in log.figures
                  if f.data.get("figure") == "schedmix_share"}
        self.assertEqual(len(shares), 2, r.stdout[-3000:])
        self.assertGreater(shares[0], 900000)  # ppm: the first thread ran nearly alone
        pol = [f.data["policies"]["sched"] for f in log.figures
               if f.data.get("figure") == "schedmix_share"]
        self.assertTrue(all(p.startswith("favor_first:unused=7") for p in pol), pol)

    def test_a_program_can_be_a_folder_of_files(self):
        self.assertEqual(self.build.returncode, 0, self.build.stdout[-3000:])
        r = run(["tools/exo", "run", "--timeout", "120", "--", "run=twofiles"], self.tmp,
                timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
        self.assertIn("twofiles: 42", r.stdout)

    def test_no_other_file_changed(self):
        new = run(["git", "status", "--porcelain"], TOP).stdout  # the source tree is untouched
        for f in tracked_files():
            if f.startswith(("policies/sched/favor_first", "workloads/twofiles")):
                continue
            a, b = os.path.join(TOP, f), os.path.join(self.tmp, f)
            with open(a, "rb") as x, open(b, "rb") as y:
                self.assertEqual(x.read(), y.read(), f"{f} changed in the copy")
        self.assertNotIn("favor_first", new)

    def _bad_build(self, name, text):
        d = tempfile.mkdtemp(prefix="exo-badpolicy-")
        try:
            copy_tree(d)
            with open(os.path.join(d, f"policies/sched/{name}.c"), "w") as f:
                f.write(text)
            self.assertEqual(run([sys.executable, "configure.py"], d).returncode, 0)
            return run(["ninja", "build/debug/policies.json"], d)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_a_duplicate_name_fails_the_build_naming_the_file(self):
        r = self._bad_build("dup", FAVOR_FIRST.replace('"favor_first"', '"rr"'))
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stdout + r.stderr,
                         r"sched policy 'rr' is registered twice: in \S+ and in \S+")
        self.assertIn("policies/sched/dup.c", r.stdout + r.stderr)

    def test_a_missing_required_hook_fails_the_build_naming_the_file(self):
        r = self._bad_build("nopick", FAVOR_FIRST.replace("\t.pick = ff_pick,\n", "").replace(
            "static struct thread *ff_pick", "__attribute__((unused)) static struct thread *ff_pick"))
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stdout + r.stderr,
                         r"policies/sched/nopick\.c: sched policy 'favor_first' leaves out its "
                         r"required hook pick")


if __name__ == "__main__":
    unittest.main()
