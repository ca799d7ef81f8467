"""The Linux baseline's macro workloads: memscan under a cgroup v2 memory
limit with swap on a virtio disk, and kvstore over pipes, in the same QEMU
as exocore (baseline/linux-macro.c is /init; `tools/exo baseline --macro`).

Like tools/exolib/baseline.py, whose parsing, initramfs packer and cache
format it shares:

- the guest: build baseline/linux-macro.c statically, pack it as /init with
  the virtio modules Debian's kernel needs for the disk (virtio_pci and
  virtio_blk and what modules.dep says they depend on, dependencies first,
  listed in /modules/order), make a sparse disk image of the swap size, and
  boot Linux with qemu.command() plus -initrd;
- the check: every figure line well formed, the "done" line reached with no
  failures, the memscan figures for every pattern and budget asked for, and
  QEMU's exit through isa-debug-exit; else BaselineError, nothing cached;
- the cache: results/baseline/linux-macro-<accel>[-icount]-smp<N>.json,
  keyed like the others plus the workload parameters and the disk size.

Standard library only.
"""

import os
import re
import shutil
import subprocess

from . import baseline, meta, qemu
from .baseline import BaselineError, BaselineSetupError

MACRO_SOURCE = os.path.join("baseline", "linux-macro.c")
DONE_RE = re.compile(r"linux-macro: done, (\d+) figures, (\d+) failures\s*$")
DEFAULT_TIMEOUT = 600
MODULES = ("virtio_pci", "virtio_blk")  # what /dev/vda needs on Debian's kernel
PATTERNS = ("seq", "loop", "uniform", "zipf")
# What memscan prints per scan; all of them must be there for a complete run.
SCAN_FIGURES = ("memscan_faults", "memscan_rate", "memscan_cycles_per_access",
                "vm_swap_reads", "vm_swap_writes", "linux_major_faults",
                "linux_resident_pages")
KV_FIGURES = ("kv_latency", "kv_ops_per_s", "kv_latency_p99_worst_client")

# The defaults match the pager branch's sweeps/paging.toml (frames 16 and 48,
# 4000 accesses, a fifth of them writes, a 16 MiB swap disk) and kvstore's own.
DEFAULTS = {
    "run": "memscan,kvstore",
    "patterns": ",".join(PATTERNS),
    "frames": "16,48",
    "accesses": 4000,
    "write_pct": 20,
    "disk": "16M",
    "kv_ops": 5000,
    "kv_clients": 0,
    "kv_get_pct": 90,
    "kv_skew_pct": 80,
}


# ---------------------------------------------------------------------------
# Modules

def module_dir(release):
    return os.path.join("/lib/modules", release)


def module_order(release, wanted=MODULES, root=None):
    """The module files (paths relative to /lib/modules/<release>) to load for
    `wanted`, each after everything it depends on (modules.dep), once.
    Returns [] if the kernel has them built in (modules.builtin)."""
    root = root or module_dir(release)
    deps = {}
    try:
        with open(os.path.join(root, "modules.dep")) as f:
            for line in f:
                if ":" not in line:
                    continue
                mod, rest = line.split(":", 1)
                deps[mod.strip()] = rest.split()
    except OSError as e:
        raise BaselineSetupError(f"no modules.dep for Linux {release} ({e}): install the"
                                 " kernel package's modules (linux-image-amd64)") from None
    builtin = set()
    try:
        with open(os.path.join(root, "modules.builtin")) as f:
            builtin = {os.path.basename(x.strip()) for x in f}
    except OSError:
        pass
    by_name = {}
    for path in deps:
        base = os.path.basename(path)
        by_name[base.split(".ko")[0].replace("-", "_")] = path
    order = []

    def visit(path, stack=()):
        if path in order:
            return
        if path in stack:
            raise BaselineSetupError(f"modules.dep has a cycle through {path}")
        for d in deps.get(path, []):
            visit(d, stack + (path,))
        order.append(path)

    for name in wanted:
        path = by_name.get(name)
        if path is None:
            if any(b.split(".ko")[0] == name for b in builtin):
                continue
            raise BaselineSetupError(f"Linux {release} has no module {name} (modules.dep)")
        visit(path)
    for path in order:
        if not path.endswith(".ko"):
            raise BaselineSetupError(f"{path} is compressed; /init loads plain .ko files only")
    return order


# ---------------------------------------------------------------------------
# Build, initramfs, disk

def build_macro(top, out_dir, cc=None):
    """Compile baseline/linux-macro.c statically into out_dir/linux-macro
    when the source is newer; returns its path."""
    src = os.path.join(top, MACRO_SOURCE)
    out = os.path.join(out_dir, "linux-macro")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    cc = cc or os.environ.get("CC") or ("gcc" if shutil.which("gcc") else "clang")
    if not shutil.which(cc):
        raise BaselineSetupError(f"no C compiler {cc!r} to build {MACRO_SOURCE}")
    os.makedirs(out_dir, exist_ok=True)
    cmd = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-static", "-pthread",
           "-o", out + ".tmp", src, "-lm"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise BaselineError(f"building {MACRO_SOURCE} failed:\n{p.stderr.strip()}")
    os.replace(out + ".tmp", out)
    return out


def make_initramfs(program, modules, path, module_root):
    """An initramfs with program as /init, /dev, /proc, /sys, and the
    modules under /modules with their load order in /modules/order."""
    with open(program, "rb") as f:
        init = f.read()
    entries = [("dev", 0o040755, b"", None), ("dev/console", 0o020600, b"", (5, 1)),
               ("proc", 0o040755, b"", None), ("sys", 0o040755, b"", None),
               ("modules", 0o040755, b"", None)]
    names = []
    for rel in modules:
        with open(os.path.join(module_root, rel), "rb") as f:
            entries.append(("modules/" + os.path.basename(rel), 0o100644, f.read(), None))
        names.append(os.path.basename(rel))
    entries.append(("modules/order", 0o100644, "".join(n + "\n" for n in names).encode(), None))
    entries.append(("init", 0o100755, init, None))
    with open(path + ".tmp", "wb") as f:
        f.write(baseline.cpio_newc(entries))
    os.replace(path + ".tmp", path)
    return path


def size_bytes(text):
    """"16M" -> 16 MiB in bytes (K, M, G; a bare number is bytes)."""
    m = re.fullmatch(r"(\d+)([KMG]?)", str(text).strip().upper())
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def make_disk(path, size):
    """A fresh sparse raw image of size bytes (the guest writes its swap header)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# ---------------------------------------------------------------------------
# Options, parsing, checking

def frames_list(p):
    return [int(x) for x in str(p["frames"]).split(",") if x.strip()]


def patterns_list(p):
    return [x for x in str(p["patterns"]).split(",") if x.strip()]


def runs_list(p):
    return [x for x in str(p["run"]).split(",") if x.strip()]


def check_params(p):
    bad = [x for x in runs_list(p) if x not in ("memscan", "kvstore")]
    bad += [x for x in patterns_list(p) if x not in PATTERNS]
    if bad:
        raise ValueError("unknown workload or pattern: " + ", ".join(bad))
    if not runs_list(p) or any(f < 1 for f in frames_list(p)) or not 0 <= int(p["write_pct"]) <= 100:
        raise ValueError("want a workload, frames >= 1 and 0 <= write_pct <= 100")
    size_bytes(p["disk"])


def linux_args(p, smp, icount):
    """Linux's command line: the workload's words go to /init's environment."""
    words = [baseline.LINUX_ARGS, f"macro_run={p['run']}", f"scan_patterns={p['patterns']}",
             f"scan_frames={p['frames']}", f"scan_accesses={p['accesses']}",
             f"scan_write_pct={p['write_pct']}", f"kv_ops={p['kv_ops']}",
             f"kv_clients={p['kv_clients']}", f"kv_get_pct={p['kv_get_pct']}",
             f"kv_skew_pct={p['kv_skew_pct']}"]
    if icount and smp > 1:
        words += ["maxcpus=1", "bench_online=yes"]
    return " ".join(words)


def parse_output(text):
    """(figures, done) from linux-macro's console (baseline.parse_output's rules)."""
    return baseline.parse_output(text, DONE_RE)


def check_run(outcome, text, p):
    """The figures of a finished guest run, or BaselineError saying why it is
    not a complete macro baseline."""
    tail = "\n".join("  | " + ln for ln in text.replace("\r", "").splitlines()[-20:])
    if outcome.timed_out:
        raise BaselineError(f"Linux did not finish within {outcome.timeout:g} s; last lines:\n{tail}")
    figures, done = parse_output(text)
    if done is None:
        raise BaselineError(f"linux-macro never finished (QEMU status {outcome.status};"
                            f" {len(figures)} figures before it stopped); last lines:\n{tail}")
    if done[1] or outcome.status != baseline.GUEST_PASS:
        raise BaselineError(f"linux-macro reported {done[1]} failures (QEMU status "
                            f"{outcome.status}); last lines:\n{tail}")
    if done[0] != len(figures):
        raise BaselineError(f"linux-macro said {done[0]} figures, the console had {len(figures)}")
    missing = missing_figures(figures, p)
    if missing:
        raise BaselineError("linux-macro left out " + ", ".join(missing[:8])
                            + (" ..." if len(missing) > 8 else "") + f"; last lines:\n{tail}")
    return figures


def missing_figures(figures, p):
    """What a complete run would have printed and this one did not. A scan
    Linux could not run (memscan_oom_kills: OOM-killed in every try) is a
    result, and stands for its other figures."""
    have = {(f.get("figure"), f.get("pattern"), f.get("frames")) for f in figures}
    have |= {(name, f.get("pattern"), f.get("frames")) for f in figures
             if f.get("figure") == "memscan_oom_kills" for name in SCAN_FIGURES}
    want = []
    if "memscan" in runs_list(p):
        want += [(name, pat, fr) for fr in frames_list(p) for pat in patterns_list(p)
                 for name in SCAN_FIGURES]
    if "kvstore" in runs_list(p):
        want += [(name, None, None) for name in KV_FIGURES]
    return [f"{n}{f' {pat} frames={fr}' if pat else ''}" for n, pat, fr in want
            if (n, pat, fr) not in have]


# ---------------------------------------------------------------------------
# One run

def cache_path(top, accel, icount, smp):
    name = f"linux-macro-{accel}{'-icount' if icount else ''}-smp{smp}.json"
    return os.path.join(top, baseline.CACHE_DIR, name)


def key_of(record):
    return {k: record.get(k) for k in ("qemu", "accel", "icount", "smp", "mem", "cpu",
                                       "linux_release", "macro_sha", "macro_params")}


def run_macro(top, *, smp=1, accel="tcg", icount=False, mem="512M", params=None,
              timeout=DEFAULT_TIMEOUT, linux=None, fresh=False, log_path=None,
              shown_command="tools/exo baseline --macro", echo=None):
    """The Linux macro figures for one configuration: cached when the key
    matches (and not fresh), else from a boot, checked, then cached.
    Returns (records, cache path, cached?). Raises BaselineError."""
    p = dict(DEFAULTS, **(params or {}))
    try:
        check_params(p)
    except ValueError as e:
        raise BaselineSetupError(str(e)) from None
    linux = baseline.find_linux(linux)
    release = baseline.kernel_release(linux)
    version = qemu.version()
    build = os.path.join(top, baseline.BUILD_DIR)
    disk = os.path.join(build, "swap.img")
    need_disk = "memscan" in runs_list(p)
    m = qemu.Machine(kernel=linux, smp=smp, mem=mem, accel=accel, icount=icount,
                     args=linux_args(p, smp, icount), disk=disk if need_disk else None)
    fields = baseline.provenance(m, version, top, linux, None, None, shown_command)
    del fields["bench_sha"], fields["rounds"]
    fields["macro_sha"] = baseline.source_sha(os.path.join(top, MACRO_SOURCE))[:16]
    fields["macro_params"] = {k: str(v) for k, v in sorted(p.items())}
    fields["disk"] = p["disk"] if need_disk else None
    path = cache_path(top, accel, icount, smp)
    if not fresh:
        cached = baseline.load_cached(path, key_of(fields), key_of)
        if cached:
            return cached, path, True
    modules = module_order(release) if need_disk else []
    program = build_macro(top, build)
    initrd = make_initramfs(program, modules, os.path.join(build, "initramfs-macro.cpio"),
                            module_dir(release))
    if need_disk:
        make_disk(disk, size_bytes(p["disk"]))
    log_path = log_path or os.path.join(top, "build", "logs",
                                        os.path.basename(path)[:-5] + ".log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "wb") as f:
        f.write((meta.line(fields) + "\n").encode())
        f.flush()
        outcome, text = qemu.run(baseline.command(m, initrd), timeout,
                                 [f] + ([echo] if echo else []))
    try:
        figures = check_run(outcome, text, p)
    except BaselineError as e:
        raise BaselineError(f"{e}\n(log: {os.path.relpath(log_path, top)})") from None
    records = [dict(fig, **fields, elapsed_s=round(outcome.elapsed, 1)) for fig in figures]
    baseline.save(path, records)
    return records, path, False


# ---------------------------------------------------------------------------
# The loop figure: faults per policy, the loop slightly larger than memory

LOOP_POLICIES = ("lru", "clock", "fifo", "aging", "2q", "s3fifo", "random", "mru", "opt")


def loop_faults(exocore, linux, figure="memscan_faults"):
    """{frames: [(label, faults or None, note)]} for the loop pattern: Linux
    first, then each exocore pager in LOOP_POLICIES order (policy
    parameters, "2q:kin_pct=25", dropped from the label)."""
    out = {}
    for r in linux:
        if r.get("pattern") != "loop":
            continue
        fr = r.get("frames")
        if r.get("figure") == figure:
            out.setdefault(fr, []).insert(0, ("Linux", r.get("median"), ""))
        elif r.get("figure") == "memscan_oom_kills":
            out.setdefault(fr, []).insert(0, ("Linux", None, "OOM-killed"))
    for fr, bars in out.items():
        mine = {}
        for r in exocore:
            if (r.get("figure") == figure and r.get("pattern") == "loop"
                    and r.get("frames") == fr):
                pager = (baseline.pager_of(r) or "").split(":")[0]
                mine.setdefault(pager, r.get("median"))
        bars += [(p, mine[p], "") for p in LOOP_POLICIES if p in mine]
    return dict(sorted(out.items()))


def loop_svg(exocore, linux, title="memscan, loop over budget × 9/8 pages: faults in 4,000 accesses"):
    """An SVG bar chart of loop_faults (standard library only)."""
    groups = loop_faults(exocore, linux)
    top = max([v for bars in groups.values() for _, v, _ in bars if v] + [1])
    row, left, width = 18, 150, 420
    height = 52 + sum((len(b) + 1) * row for b in groups.values())
    esc = lambda t: str(t).replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" '
           f'height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="8" y="18" font-weight="bold">{esc(title)}</text>',
           '<text x="8" y="34">Linux 6.1 under memory.max (red); exocore\'s libOS pagers'
           ' (grey; blue: MRU and OPT)</text>']
    y = 48
    for fr, bars in groups.items():
        pages = fr + max(fr // 8, 1)
        out.append(f'<text x="8" y="{y + 12}" font-weight="bold">{fr} frames, {pages} pages</text>')
        y += row
        for label, v, note in bars:
            colour = "#c0392b" if label == "Linux" else "#2e86c1" if label in ("mru", "opt") \
                else "#7f8c8d"
            out.append(f'<text x="{left - 8}" y="{y + 12}" text-anchor="end">{esc(label)}</text>')
            if v is None:
                out.append(f'<text x="{left + 4}" y="{y + 12}" fill="{colour}">'
                           f'{esc(note or "not measured")}</text>')
            else:
                w = max(1, round(width * v / top))
                out.append(f'<rect x="{left}" y="{y + 2}" width="{w}" height="{row - 5}" '
                           f'fill="{colour}"/>')
                out.append(f'<text x="{left + w + 4}" y="{y + 12}">{v:,}</text>')
            y += row
    out.append("</svg>")
    return "\n".join(out) + "\n"
