"""Decide whether KVM can run this kernel, and remember the answer.

Some machines' /dev/kvm is PVM (a paravirtualized KVM) that breaks the
ring-3 transitions of kernels not written for it, so the presence of
/dev/kvm proves nothing. The probe boots the kernel under KVM with the
probe.* guest tests, and KVM is used only if that run passes. The verdict
is cached per (kernel sha256, QEMU version).
"""

import datetime
import hashlib
import json
import os

from . import verdict
from .qemu import Machine

PROBE_ARGS = "test=probe.*"
PROBE_SMP = 2
PROBE_TIMEOUT = 30
ADVICE = ("/dev/kvm on this machine may be PVM, which breaks ring-3 transitions"
          " of non-PVM kernels; use --accel tcg")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_key(kernel_sha, qemu_version):
    return f"{kernel_sha} qemu {qemu_version}"


def load_cache(path):
    """The cache as a dict; empty if it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_cache(path, cache):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(cache, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def device_problem(dev="/dev/kvm"):
    """Why KVM cannot even be tried, or None."""
    if not os.path.exists(dev):
        return f"{dev} does not exist"
    if not os.access(dev, os.R_OK | os.W_OK):
        return f"{dev} is not readable and writable by this user"
    return None


def probe_machine(kernel):
    return Machine(kernel=kernel, smp=PROBE_SMP, accel="kvm", args=PROBE_ARGS)


def judge(outcome, log):
    """(ok, reason) for a finished probe boot."""
    reason = verdict.run_reason(outcome, log)
    if reason:
        return False, reason
    if log.pass_lines() == 0:
        return False, ("the guest passed but printed no 'test: PASS' line"
                       " (does this kernel have probe.* tests?)")
    return True, "probe.* tests passed under KVM"


def probe(kernel, qemu_version, cache_path, boot, fresh=False):
    """Return {"ok", "reason", "cached", ...} for kernel under KVM.

    boot(machine, timeout) runs QEMU and returns (Outcome, GuestLog); it is
    called only when the cache has no verdict for this kernel and QEMU (or
    fresh is set). A missing /dev/kvm is reported without booting or caching.
    """
    problem = device_problem()
    if problem:
        return {"ok": False, "reason": problem, "cached": False}
    key = cache_key(sha256(kernel), qemu_version)
    cache = load_cache(cache_path)
    if not fresh and key in cache:
        return dict(cache[key], cached=True)
    ok, reason = judge(*boot(probe_machine(kernel), PROBE_TIMEOUT))
    entry = {"ok": ok, "reason": reason, "kernel": kernel, "qemu": qemu_version,
             "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    cache[key] = entry
    save_cache(cache_path, cache)
    return dict(entry, cached=False)
