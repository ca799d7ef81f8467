"""A single-node Slurm cluster on this machine, for the Slurm executor's test:
munged (as the munge user), slurmctld and `slurmd -N localhost` started
from a private slurm.conf in a scratch folder, no systemd; stopped by their
pid files. Needs root and Debian's slurm-wlm and munge.

    with MiniCluster(tmpdir) as c:       # waits until sinfo says idle
        env = c.env()                    # SLURM_CONF=... for sbatch/squeue
"""

import os
import pwd
import shutil
import signal
import subprocess
import time

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
MUNGE_DIR = "/run/munge"
CTLD_PORT, SLURMD_PORT = 16817, 16818  # not Slurm's defaults: leave a real cluster alone


class ClusterError(Exception):
    pass


def missing():
    """Programs the cluster needs that are not installed."""
    paths = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [d for d in DAEMONS if shutil.which(d, path=paths) is None]


def conf_text(d, cpus):
    return "\n".join([
        "ClusterName=exotest",
        "SlurmctldHost=localhost(127.0.0.1)",
        f"SlurmctldPort={CTLD_PORT}",
        f"SlurmdPort={SLURMD_PORT}",
        "SlurmUser=root",
        "AuthType=auth/munge",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "MpiDefault=none",
        "ReturnToService=2",
        "SchedulerType=sched/backfill",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        f"StateSaveLocation={d}/state",
        f"SlurmdSpoolDir={d}/spool",
        f"SlurmctldPidFile={d}/slurmctld.pid",
        f"SlurmdPidFile={d}/slurmd.pid",
        f"SlurmctldLogFile={d}/slurmctld.log",
        f"SlurmdLogFile={d}/slurmd.log",
        f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN",
        "PartitionName=exo Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
        ""])


class MiniCluster:
    def __init__(self, scratch, cpus=None, wait_s=60):
        self.dir = os.path.abspath(scratch)
        self.cpus = cpus or os.cpu_count() or 1
        self.wait_s = wait_s
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.started_munge = False

    def env(self):
        return dict(os.environ, SLURM_CONF=self.conf,
                    PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

    def _run(self, cmd, **kw):
        return subprocess.run(cmd, env=self.env(), capture_output=True, text=True, **kw)

    def start(self):
        if os.geteuid() != 0:
            raise ClusterError("starting slurmctld, slurmd and munged needs root")
        for sub in ("state", "spool"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(conf_text(self.dir, self.cpus))
        self._munge()
        for cmd in (["slurmctld", "-f", self.conf], ["slurmd", "-N", "localhost", "-f", self.conf]):
            p = self._run(cmd, timeout=60)
            if p.returncode != 0:
                raise ClusterError(f"{cmd[0]} did not start: {(p.stderr or p.stdout).strip()}"
                                   f" (log in {self.dir})")
        self._wait_idle()
        return self

    def _munge(self):
        """munged as the munge user, unless one answers already."""
        if self._run(["munge", "-n"], timeout=10).returncode == 0:
            return
        mu = pwd.getpwnam("munge")
        os.makedirs(MUNGE_DIR, exist_ok=True)
        os.chown(MUNGE_DIR, mu.pw_uid, mu.pw_gid)
        os.chmod(MUNGE_DIR, 0o755)
        p = self._run(["runuser", "-u", "munge", "--", "munged"], timeout=30)
        if p.returncode != 0:
            raise ClusterError(f"munged did not start: {(p.stderr or p.stdout).strip()}")
        self.started_munge = True

    def _wait_idle(self):
        deadline = time.monotonic() + self.wait_s
        state = ""
        while time.monotonic() < deadline:
            p = self._run(["sinfo", "-h", "-o", "%t"], timeout=30)
            state = p.stdout.strip()
            if state == "idle":
                return
            time.sleep(0.5)
        raise ClusterError(f"the node is not idle after {self.wait_s} s (sinfo: {state!r};"
                           f" logs in {self.dir})")

    def stop(self):
        for name in ("slurmd", "slurmctld"):
            _kill_pidfile(os.path.join(self.dir, f"{name}.pid"))
        if self.started_munge:
            _kill_pidfile(os.path.join(MUNGE_DIR, "munged.pid"))

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


def _kill_pidfile(path, wait_s=10):
    try:
        with open(path) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
