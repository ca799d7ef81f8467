"""Run metadata: what made a log or a figure (docs/design.md, "Guest <-> host protocol")."""

import json
import os
import subprocess


def git_commit(top):
    """`git rev-parse --short HEAD`, plus "-dirty" if tracked files changed;
    "unknown" outside git or before the first commit."""
    def git(*args):
        return subprocess.run(["git", "-C", top, *args], capture_output=True, text=True)
    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return "unknown"
        status = git("status", "--porcelain", "--untracked-files=no")
    except FileNotFoundError:
        return "unknown"
    dirty = status.returncode != 0 or status.stdout.strip() != ""
    return head.stdout.strip() + ("-dirty" if dirty else "")


def host():
    u = os.uname()
    return f"{u.sysname} {u.nodename} {u.release} {u.version} {u.machine}"


PREFIX = "exo: "


def line(fields):
    """The metadata line exo prints before a boot and heads each log with."""
    return PREFIX + json.dumps(fields, sort_keys=False)


def parse_line(text):
    """The fields of a metadata line (as line() writes it), or None for any other line."""
    if not text.startswith(PREFIX + "{"):
        return None
    try:
        fields = json.loads(text[len(PREFIX):])
    except json.JSONDecodeError:
        return None
    return fields if isinstance(fields, dict) else None


def boot_fields(machine, version, mode, commit, host_text, cpu_model):
    """The metadata of one boot (exo's `exo: {json}` line, heading every log)."""
    return {"qemu": version, "accel": machine.accel, "cpu": cpu_model,
            "smp": machine.smp, "mem": machine.mem,
            "icount": ICOUNT_TEXT if machine.icount else None,
            "commit": commit, "mode": mode, "kernel": machine.kernel,
            "cmdline": machine.cmdline(), "host": host_text}


ICOUNT_TEXT = "shift=0,align=off,sleep=off"  # qemu.ICOUNT (kept equal by a test)


def host_cpu_model():
    """The host CPU's model name from /proc/cpuinfo, or "unknown"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def host_load():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def git_dirty(top):
    return git_commit(top).endswith("-dirty")
