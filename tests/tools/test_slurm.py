"""The Slurm executor: a unit test of the batch script, the clear error
without Slurm, and a small sweep through a single-node cluster started here
(tools/exolib/minicluster.py: munged, slurmctld, slurmd; no systemd), then
resumed locally. Skipped, with the reason printed and counted, only when
slurm-wlm/munge are not installed or we are not root.

    python3 -m unittest tests/tools/test_slurm.py -v
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import executors, minicluster, results  # noqa: E402

EXO = os.path.join(TOP, "tools", "exo")
SPEC = os.path.join(TOP, "tests", "tools", "two-point.toml")
KERNEL = os.path.join(TOP, "build", "debug", "kernel.elf")
SYSTEM_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


class BatchScriptTest(unittest.TestCase):
    def test_one_array_task_per_point(self):
        run = results.RunDir("/shared/results/s/r1")
        entries = [{"index": 0, "config": {"cores": 1}}, {"index": 3, "config": {"cores": 4}}]
        text = executors.batch_script(run, entries, "/src/exocore", jobs=2,
                                      python="/usr/bin/python3")
        self.assertIn("#SBATCH --array=0,3%2\n", text)
        self.assertIn("exec /usr/bin/python3 /src/exocore/tools/exo sweep-point"
                      " /shared/results/s/r1 \"$SLURM_ARRAY_TASK_ID\"", text)
        self.assertIn("#SBATCH --chdir=/src/exocore", text)
        self.assertEqual(executors.cpus_option(entries), 4)

    def test_no_slurm_is_a_clear_error(self):
        if not os.path.exists(KERNEL):
            self.skipTest("needs ninja debug")
        with tempfile.TemporaryDirectory() as d:
            # A PATH with QEMU (the stand-in) and git, but no Slurm.
            os.symlink(os.path.join(TOP, "tests", "tools", "fake-qemu", "qemu-system-x86_64"),
                       os.path.join(d, "qemu-system-x86_64"))
            os.symlink(shutil.which("git") or "/usr/bin/git", os.path.join(d, "git"))
            env = dict(os.environ, PATH=d)
            r = subprocess.run([SYSTEM_PYTHON, EXO, "sweep", SPEC, "--executor", "slurm",
                                "--results", os.path.join(d, "results")],
                               capture_output=True, text=True, env=env)
            self.assertFalse(os.path.exists(os.path.join(d, "results")))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("sbatch, squeue not on PATH", r.stderr)


@unittest.skipUnless(os.path.exists(KERNEL), "needs ninja debug")
class SlurmClusterTest(unittest.TestCase):
    def test_sweep_through_a_one_node_cluster_then_resume_locally(self):
        gone = minicluster.missing()
        if gone:
            self.skipTest(f"Slurm is not installed ({', '.join(gone)} missing):"
                          " apt-get install slurm-wlm munge")
        if os.geteuid() != 0:
            self.skipTest("starting slurmctld/slurmd/munged needs root")
        with tempfile.TemporaryDirectory(prefix="exo-slurm-") as d:
            root = os.path.join(d, "results")
            with minicluster.MiniCluster(os.path.join(d, "cluster")) as c:
                r = subprocess.run([SYSTEM_PYTHON, EXO, "sweep", SPEC, "--executor", "slurm",
                                    "--results", root, "--no-progress"], capture_output=True,
                                   text=True, env=c.env(), timeout=600)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("submitted Slurm job", r.stderr)
            run = results.RunDir(results.runs_of(root, "check-two-point")[0])
            res = run.results()
            self.assertEqual(sorted(x["config"]["cores"] for x in res), [1, 2])
            self.assertTrue(all(x["status"] == "ok" for x in res))
            self.assertEqual(run.meta()["attempts"][-1]["executor"], "slurm")
            self.assertTrue([f for f in os.listdir(run.file("logs")) if f.startswith("slurm-")])
            # The same spec and kernel, locally: everything is done already.
            r = subprocess.run([SYSTEM_PYTHON, EXO, "sweep", SPEC, "--results", root],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("all 2 points done", r.stdout)


if __name__ == "__main__":
    unittest.main()
