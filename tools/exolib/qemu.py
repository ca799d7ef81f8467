"""Build QEMU command lines and run QEMU with a timeout.

Every QEMU runs in its own session (process group), so a timeout or ^C can
end it and anything it started, and so it never takes the terminal's
job-control signals meant for exo.
"""

import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from .verdict import Outcome

QEMU = "qemu-system-x86_64"
ACCELS = ("tcg", "kvm")
CPU_MODEL = {"tcg": "max", "kvm": "host"}
# Deterministic instruction counting: one ns of guest time per instruction,
# no throttling to the host clock, no sleeping while idle.
ICOUNT = "shift=0,align=off,sleep=off"
EXIT_DEVICE = "isa-debug-exit,iobase=0xf4,iosize=0x04"
GDB_PORT = 1234
TERM_GRACE_S = 5  # between SIGTERM and SIGKILL


class QemuMissing(Exception):
    pass


@dataclass
class Machine:
    """What to boot and on what virtual machine."""
    kernel: str
    smp: int = 1
    mem: str = "512M"
    accel: str = "tcg"
    args: str = ""  # kernel command line, without accel=
    icount: bool = False
    gdb: bool = False
    gdb_port: int = GDB_PORT
    disk: str = None  # a raw image attached as a virtio disk

    def cmdline(self):
        """The kernel command line: the args, then accel=<accel> [icount=yes] (docs/protocol.md)."""
        words = (self.args.strip(), f"accel={self.accel}", "icount=yes" if self.icount else "")
        return " ".join(w for w in words if w)


def command(m):
    """The QEMU argv for machine m."""
    if m.accel not in ACCELS:
        raise ValueError(f"unknown accelerator {m.accel!r}; want one of {', '.join(ACCELS)}")
    cmd = [QEMU, "-machine", "q35", "-cpu", CPU_MODEL[m.accel], "-accel", m.accel,
           "-smp", str(m.smp), "-m", m.mem,
           # -nographic puts COM1 on stdout; mon: muxes the monitor (^A c) onto it.
           "-nographic", "-serial", "mon:stdio", "-nic", "none", "-no-reboot",
           "-device", EXIT_DEVICE, "-kernel", m.kernel, "-append", m.cmdline()]
    if m.disk:
        cmd += ["-drive", f"file={m.disk},format=raw,if=virtio"]
    if m.icount:
        cmd += ["-icount", ICOUNT]
    if m.gdb:
        # gdbstub on tcp::PORT; wait for gdb before the first instruction.
        cmd += ["-gdb", f"tcp::{m.gdb_port}", "-S"]
    return cmd


def version():
    """QEMU's version, e.g. "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"."""
    try:
        out = subprocess.run([QEMU, "--version"], capture_output=True, text=True,
                             check=True).stdout
    except FileNotFoundError as e:
        raise QemuMissing(f"{QEMU} is not on PATH; install Debian's qemu-system-x86"
                          " (./configure.py --install-deps)") from e
    except subprocess.CalledProcessError as e:
        raise QemuMissing(f"`{QEMU} --version` failed with status {e.returncode}") from e
    first = out.splitlines()[0] if out else ""
    m = re.search(r"version (.+)$", first)
    return m.group(1).strip() if m else first.strip()


# QEMU processes running now, so that ^C in exo can end them all.
_live = set()
_live_lock = threading.Lock()


def run(cmd, timeout, sinks=(), stdin=subprocess.DEVNULL):
    """Run QEMU until it exits or timeout seconds pass (0: no limit).

    Console bytes are copied to each binary file in sinks as they arrive.
    Returns (Outcome, console text).
    """
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    with _live_lock:
        _live.add(proc)
    chunks = []
    reader = threading.Thread(target=_pump, args=(proc.stdout, sinks, chunks), daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout or None)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill(proc)
        proc.wait()
    except BaseException:
        kill(proc)
        raise
    finally:
        with _live_lock:
            _live.discard(proc)
    reader.join()
    outcome = Outcome(status=proc.returncode, timed_out=timed_out, timeout=timeout,
                      elapsed=time.monotonic() - start)
    return outcome, b"".join(chunks).decode("utf-8", "replace")


def _pump(pipe, sinks, chunks):
    """Copy QEMU's output to the sinks until it closes. A sink that fails
    (stdout piped into `head`) is dropped; the reading goes on, so QEMU
    never blocks on a full pipe."""
    live = list(sinks)
    fd = pipe.fileno()
    while True:
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
        for s in list(live):
            try:
                s.write(data)
                s.flush()
            except OSError:
                live.remove(s)
    pipe.close()


def kill(proc):
    """End proc's whole process group: SIGTERM (QEMU restores the terminal),
    then SIGKILL if it is still there after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(TERM_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue


def kill_all():
    """End every QEMU that run() started and that is still running."""
    with _live_lock:
        procs = list(_live)
    for p in procs:
        kill(p)
