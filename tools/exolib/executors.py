"""Where a sweep's points run: here (threads, each a QEMU), or on a Slurm
cluster as one job array whose every task runs `tools/exo sweep-point RUN I`
— the same function a local run calls — into the same run folder, which must
be on a filesystem the nodes share. Either way, a point is done when its
points/<key>.json exists, so a rerun resumes across executors.
"""

import os
import shutil
import subprocess
import sys
import time

from . import qemu, sweep

POLL_S = 2


class ExecutorError(Exception):
    pass


def run_local(run, entries, kernel, version, jobs, on_done, stop):
    def work(entry):
        if stop.is_set():
            return None
        return sweep.run_point(run, entry, kernel, version, stop.event)
    def abort():
        stop.set()
        qemu.kill_all()
    sweep.execute_local(entries, work, jobs, on_done, abort)


# ---------------------------------------------------------------------------
# Slurm

SLURM_TOOLS = ("sbatch", "squeue", "sacct")


def check_slurm():
    missing = [t for t in SLURM_TOOLS[:2] if shutil.which(t) is None]
    if missing:
        raise ExecutorError(f"--executor slurm: {', '.join(missing)} not on PATH; install"
                            " Debian's slurm-client (or slurm-wlm) and point it at a cluster"
                            " (docs/sweeps.md)")


def batch_script(run, entries, top, jobs=None, python=sys.executable):
    """The sbatch script: one array task per point, by plan index (%jobs: at
    most that many at once)."""
    exo = os.path.join(top, "tools", "exo")
    indices = ",".join(str(e["index"]) for e in entries) + (f"%{jobs}" if jobs else "")
    return "\n".join([
        "#!/bin/sh",
        f"#SBATCH --job-name=exo-{os.path.basename(os.path.dirname(run.path))}",
        f"#SBATCH --array={indices}",
        f"#SBATCH --output={run.file('logs', 'slurm-%A_%a.out')}",
        f"#SBATCH --chdir={top}",
        "#SBATCH --ntasks=1",
        f"exec {python} {exo} sweep-point {run.path} \"$SLURM_ARRAY_TASK_ID\"",
        ""])


def cpus_option(entries):
    """Each task asks for the cores of its point (the largest in the array)."""
    return max(e["config"]["cores"] for e in entries)


def run_slurm(run, entries, jobs, top, on_done, stop):
    """Submit entries as one job array, report each point as its result
    appears, and return when the job has left the queue."""
    check_slurm()
    script = run.file(f"sweep-{int(time.time())}.sbatch")
    with open(script, "w", encoding="utf-8") as f:
        f.write(batch_script(run, entries, top, jobs))
    cmd = ["sbatch", "--parsable", f"--cpus-per-task={cpus_option(entries)}", script]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise ExecutorError(f"sbatch failed: {(p.stderr or p.stdout).strip()}")
    job = p.stdout.strip().split(";")[0]
    print(f"exo: submitted Slurm job {job} ({len(entries)} tasks; script {script})",
          file=sys.stderr, flush=True)
    pending = {e["key"]: e for e in entries}
    try:
        while pending:
            for key in list(pending):
                r = run.result(key)
                if r is not None and r.get("finished", "") >= run.meta().get(
                        "attempt_started", ""):
                    on_done(pending.pop(key), r)
            if not pending or not in_queue(job):
                break
            time.sleep(POLL_S)
        # Results written just before the job left the queue.
        for key in list(pending):
            r = run.result(key)
            if r is not None:
                on_done(pending.pop(key), r)
    except KeyboardInterrupt:
        subprocess.run(["scancel", job], capture_output=True)
        raise
    if pending:
        raise ExecutorError(f"Slurm job {job} ended with {len(pending)} point(s) that wrote"
                            f" no result (see {run.file('logs')}/slurm-{job}_*.out); a rerun"
                            " runs them")


def in_queue(job):
    p = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i"], capture_output=True, text=True)
    return p.returncode == 0 and p.stdout.strip() != ""
