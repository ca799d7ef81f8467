"""The Linux baseline: Debian's Linux booted in exocore's QEMU configuration
with baseline/linux-bench.c as /init, its figures, and the ratio table.

Three parts, each usable alone:

- COUNTERPARTS and ratio_rows(): which Linux figure stands beside which
  exocore figure, and the table exocore / Linux (pure functions; the
  report and compare tools call ratio_rows or compare_results);
- the boot: build the static benchmark, pack it into a newc initramfs,
  boot Linux with qemu.command() (the one QEMU command line) plus -initrd,
  and check what it printed (run_baseline);
- the cache: results/baseline/linux-<accel>[-icount]-smp<N>.json, a list of
  figure records like results/bench-syscalls.json, replaced only by a
  complete, checked run (load_cached, save).

Standard library only.
"""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from . import meta, qemu

BENCH_SOURCE = os.path.join("baseline", "linux-bench.c")
CACHE_DIR = os.path.join("results", "baseline")
BUILD_DIR = os.path.join("build", "baseline")
DEFAULT_ROUNDS = 10000
DEFAULT_TIMEOUT = 900
# Linux's own command line; exo adds accel= and icount= after it, which Linux
# hands to init as environment variables, as it does bench_rounds=.
# panic=-1: a panic reboots at once, and -no-reboot makes that a QEMU exit
# with status 0, which is no verdict (never a hang until the timeout).
LINUX_ARGS = "console=ttyS0 quiet panic=-1"
REQUIRED_KEYS = ("figure", "linux", "unit", "median", "min", "max", "n")
DONE_RE = re.compile(r"linux-bench: done, (\d+) figures, (\d+) failures\s*$")
EXOJSON_RE = re.compile(r"EXOJSON (.*?)\s*$")
GUEST_PASS = 1  # QEMU's status after the guest wrote 0 to isa-debug-exit


class BaselineError(Exception):
    """The baseline could not be had: a guest that failed, hung or printed
    garbage, a benchmark that did not build. Nothing was cached."""


class BaselineSetupError(BaselineError):
    """Something to install first: no Linux kernel, no C compiler."""


# ---------------------------------------------------------------------------
# Counterparts: each exocore figure and what Linux does for it.

@dataclass(frozen=True)
class Counterpart:
    figure: str  # the exocore figure
    linux: str  # the Linux figure's "linux" name (baseline/linux-bench.c)
    what: str  # one line: what Linux does
    where: tuple = ()  # (key, value) pairs an exocore record must have to match
    same: tuple = ()  # keys whose values the Linux record must share with the exocore one


COUNTERPARTS = (
    Counterpart("syscall_sysret_raw", "syscall_enosys",
                "an unknown syscall number: entry, dispatch, -ENOSYS, exit"),
    Counterpart("null_syscall", "getppid", "getppid(2)"),
    Counterpart("cap_mint_delete", "dup_close", "dup(2) + close(2): copy a handle, drop it"),
    Counterpart("frame_alloc_map_unmap_free", "mmap_touch_munmap",
                "mmap one anonymous page, touch it, munmap", (("cores_running", 1),)),
    Counterpart("frame_alloc_map_unmap_free", "mmap_touch_munmap_threads",
                "the same in N threads of one process, one per core, at once"),
    Counterpart("env_create_destroy", "fork_exit_wait", "fork + _exit + waitpid"),
    Counterpart("env_create_destroy", "posix_spawn_exit_wait",
                "posix_spawn of a static program that exits + waitpid"),
    Counterpart("env_create_destroy_local", "fork_exit_wait", "fork + _exit + waitpid"),
    Counterpart("exception_upcall_round_trip", "sigill_handler_skip",
                "ud2 -> SIGILL handler that skips it -> sigreturn"),
    Counterpart("page_fault_upcall_map_round_trip", "sigsegv_mprotect",
                "load from a PROT_NONE page -> SIGSEGV handler mprotects it -> sigreturn, retry"),
    Counterpart("page_fault_upcall_map_round_trip", "first_touch_minor_fault",
                "first touch of a fresh anonymous page (the kernel's own fault handler)"),
    Counterpart("pct_call_reply", "pipe_round_trip_same_core",
                "one byte there and back over two pipes, two processes pinned to one core"),
    Counterpart("yield_round_trip_two_envs", "sched_yield_two_threads",
                "sched_yield between two threads pinned to one core (two switches)"),
    Counterpart("chan_rtt", "futex_wake_round_trip",
                "futex wake + wait round trip between threads on cores 0 and 1",
                (("receiver", "ipi"),)),
    Counterpart("chan_rtt", "pipe_round_trip_cross_core",
                "pipe round trip between processes on cores 0 and 1", (("receiver", "ipi"),)),
    Counterpart("revoke_local_abort", "munmap_one_page",
                "munmap of one touched page, no other thread"),
    Counterpart("revoke_remote_abort", "munmap_shootdown",
                "munmap of a page a thread on core 1 has touched (the TLB shootdown)"),
    Counterpart("tlb_shootdown", "munmap_shootdown",
                "munmap of a page a thread on core 1 has touched (the TLB shootdown)",
                (("cores", 1),)),
)
# The macro workloads (baseline/linux-macro.c, tools/exolib/linuxmacro.py):
# a Linux memscan figure stands beside exocore's for the same scan (pattern,
# region, budget, accesses, writes), whatever exocore's pager policy; a
# kvstore figure beside exocore's with the same operation mix.
SCAN_KEYS = ("pattern", "pages", "frames", "accesses", "write_pct")
KV_KEYS = ("get_pct", "skew_pct")
MACRO_COUNTERPARTS = (
    Counterpart("memscan_faults", "memscan_faults",
                "faults in the scan (pgfault: minor + major) under memory.max", same=SCAN_KEYS),
    Counterpart("memscan_rate", "memscan_rate", "pages touched per second", same=SCAN_KEYS),
    Counterpart("memscan_cycles_per_access", "memscan_cycles_per_access",
                "cycles per access, faults included", same=SCAN_KEYS),
    Counterpart("vm_swap_reads", "vm_swap_reads", "pages read from swap (pswpin)",
                same=SCAN_KEYS),
    Counterpart("vm_swap_writes", "vm_swap_writes", "pages written to swap (pswpout)",
                same=SCAN_KEYS),
    Counterpart("kv_ops_per_s", "kv_ops_per_s",
                "a server process on core 0, clients on the others, a pipe pair each",
                same=KV_KEYS + ("clients",)),
    Counterpart("kv_latency", "kv_latency", "one request and reply over a pipe pair",
                same=KV_KEYS),
    Counterpart("kv_latency_p99_worst_client", "kv_latency_p99_worst_client",
                "the worst client's p99, pipes", same=KV_KEYS + ("clients",)),
)
COUNTERPARTS = COUNTERPARTS + MACRO_COUNTERPARTS
MACRO_FIGURES = {c.figure for c in MACRO_COUNTERPARTS} | {
    "linux_major_faults", "linux_resident_pages", "memscan_oom_kills"}

# Linux figures with no exocore figure yet, shown in their own rows.
LINUX_ONLY = {"pipe_write_64k": "64 KiB written into a pipe read on another core",
              "linux_major_faults": "memscan: faults that waited for the swap disk",
              "linux_resident_pages": "memscan: the region's pages resident at the end",
              "memscan_oom_kills": "memscan: OOM-killed in every try (no other figures)"}


def counterparts_of(record):
    """The Counterparts of one exocore record (empty: none)."""
    return [c for c in COUNTERPARTS if c.figure == record.get("figure")
            and all(record.get(k) == v for k, v in c.where)]


# ---------------------------------------------------------------------------
# The ratio table.

@dataclass
class Row:
    figure: str  # exocore's figure name (for a Linux-only row, Linux's "figure")
    detail: str  # what tells same-named figures apart ("receiver=ipi", "cores_running=2")
    linux_name: str  # the counterpart, or None
    exocore: float  # exocore's median, or None
    linux: float  # Linux's median, or None
    unit: str
    note: str = ""  # "no counterpart", "no Linux figure", "no exocore figure"

    @property
    def ratio(self):
        """exocore / Linux (below 1: exocore is faster), or None."""
        if self.exocore is None or not self.linux:
            return None
        return self.exocore / self.linux


# Fields that tell apart records of one figure name, in the order shown.
DETAIL_KEYS = ("receiver", "to", "cores", "cores_running")


def pager_of(record):
    """The pager policy of a memscan record: exocore's policies.pager, Linux's "pager"."""
    pol = record.get("policies")
    if isinstance(pol, dict) and pol.get("pager"):
        return pol["pager"]
    return record.get("pager")


def detail_of(record):
    if record.get("figure") in MACRO_FIGURES:
        keys = SCAN_KEYS if "pattern" in record else KV_KEYS + ("clients",)
        parts = [f"{k}={record[k]}" for k in keys if k in record]
        if "pattern" in record and pager_of(record):
            parts.append(f"pager={pager_of(record)}")
        return " ".join(parts)
    parts = []
    for k in DETAIL_KEYS:
        if k in record and not (k == "cores_running" and record[k] == 1):
            if k == "cores" and record.get("figure") not in ("tlb_shootdown", "boot_ms"):
                continue
            parts.append(f"{k}={record[k]}")
    return " ".join(parts)


def value_of(record):
    return record.get("median", record.get("value"))


def lower_median(values):
    v = sorted(values)
    return v[(len(v) - 1) // 2]


def clock_of(record):
    """(accel, icount) of a record: figures compare only within one clock."""
    return record.get("accel"), record.get("icount") or None


def _groups(records, key):
    """Records grouped by key(record), groups in first-seen order."""
    out = {}
    for r in records:
        if value_of(r) is None:
            continue
        out.setdefault(key(r), []).append(r)
    return out


def ratio_rows(exocore, linux):
    """One Row per exocore figure (by name and detail) and counterpart, then
    one per Linux figure no exocore figure claims.

    exocore: exocore figure records (results/bench-syscalls.json's shape);
    linux: Linux records (baseline/linux-bench.c's, "linux" naming each).
    Records of one figure and detail (several cores, several boots) are
    summarized by the lower median of their medians. Both lists must come
    from one clock (accel and -icount setting): ValueError otherwise.
    """
    clocks = {clock_of(r) for r in list(exocore) + list(linux) if value_of(r) is not None}
    if len(clocks) > 1:
        raise ValueError("figures from different clocks (accel, icount): "
                         + ", ".join(f"{a}/{i or 'no icount'}" for a, i in sorted(
                             clocks, key=lambda c: (str(c[0]), str(c[1])))))
    lin = _groups(linux, lambda r: (r.get("linux"), r.get("cores_running", 1)))
    used = set()  # ids of the Linux records that stand beside an exocore row
    rows = []
    for (fig, detail), recs in _groups(exocore, lambda r: (r["figure"], detail_of(r))).items():
        value = lower_median(value_of(r) for r in recs)
        unit = recs[0].get("unit", "")
        cps = counterparts_of(recs[0])
        if not cps:
            rows.append(Row(fig, detail, None, value, None, unit, "no counterpart"))
            continue
        running = recs[0].get("cores_running", 1)
        for c in cps:
            match = [r for r in lin.get((c.linux, running), [])
                     if all(r.get(k) == recs[0].get(k) for k in c.same)]
            if match:
                used.update(id(r) for r in match)
                rows.append(Row(fig, detail, c.linux, value,
                                lower_median(value_of(r) for r in match), unit))
            else:
                rows.append(Row(fig, detail, c.linux, value, None, unit, "no Linux figure"))
    claimed = {c.linux for c in COUNTERPARTS}
    rest = [r for recs in lin.values() for r in recs if id(r) not in used]
    for (name, running, detail), recs in _groups(rest, lambda r: (
            r.get("linux"), r.get("cores_running", 1),
            detail_of(r) if r.get("figure") in MACRO_FIGURES else "")).items():
        note = "no exocore figure" if name not in claimed else "no exocore figure in this run"
        if running != 1:
            detail = f"cores_running={running}"
        rows.append(Row(recs[0].get("figure", name), detail, name, None,
                        lower_median(value_of(r) for r in recs), recs[0].get("unit", ""), note))
    return rows


def format_number(x):
    if x is None:
        return "—"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.1f}"
    return f"{int(x):,}"


def format_ratio(r):
    if r is None:
        return "—"
    return f"{r:.2f}" if 0.1 <= r < 10 else f"{r:.1f}" if r >= 10 else f"{r:.2g}"


def format_table(rows, markdown=False):
    """The rows as text (or a Markdown table): figure, detail, Linux
    counterpart, exocore, Linux, exocore/Linux, note."""
    head = ("figure", "detail", "Linux counterpart", "exocore", "Linux", "exo/Linux", "note")
    body = [(r.figure, r.detail, r.linux_name or "—", format_number(r.exocore),
             format_number(r.linux), format_ratio(r.ratio), r.note) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(f"`{c}`" if i in (0, 2) and c != "—" else c
                                    for i, c in enumerate(row)) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    right = {3, 4, 5}
    fmt = lambda row: "  ".join(  # noqa: E731
        str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
        for i, c in enumerate(row)).rstrip()
    return "\n".join([fmt(head)] + [fmt(row) for row in body])


def compare_results(exocore, baselines):
    """exocore's records against Linux baselines, clock by clock.

    baselines: lists of Linux records (any clocks, any smp). Returns
    [((accel, icount), rows)], one entry per clock of the exocore records;
    rows is None where no baseline has that clock. For each counterpart the
    Linux figure is taken from the baseline with the same smp as the exocore
    record if there is one, else from the baseline with the most cores.
    """
    out = []
    for clock, recs in _groups(exocore, clock_of).items():
        mine = [b for b in baselines if b and clock_of(b[0]) == clock]
        if not mine:
            out.append((clock, None))
            continue
        by_smp = _by_smp(mine)
        most = by_smp[max(by_smp)]
        rows = []
        for smp, part in _groups(recs, lambda r: r.get("smp", 1)).items():
            rows += ratio_rows(part, by_smp.get(smp, most))
        out.append((clock, _dedupe(rows)))
    return out


def _by_smp(baselines):
    """{smp: every record of the baselines with that many cores}: the micro
    benchmarks' and the macro workloads' baselines of one clock side by side
    (their Linux figure names differ)."""
    out = {}
    for b in baselines:
        out.setdefault(b[0].get("smp", 1), []).extend(b)
    return out


def report_counterparts(agg, baselines):
    """For a sweep report (sweepreport.figure_table): {agg key: {"median",
    "linux"}} for every aggregated exocore figure that has a counterpart in a
    baseline of the same clock (accelerator and -icount), taken from the
    baseline with as many cores as the point if there is one, else the one
    with the most. Figures without one are left out (the table says so).
    Only -icount figures (instruction counts, the same in every run): a TCG
    wall-clock ratio means something only when both sides ran interleaved in
    one run, which `tools/exo baseline --exocore` does, not a cache."""
    out = {}
    for key, a in agg.items():
        rec = a.get("data") or {}
        cps = counterparts_of(rec)
        cfg = a.get("config") or {}
        if not cfg.get("icount"):
            continue
        accel = cfg.get("accel") or rec.get("accel")
        mine = _by_smp(b for b in baselines if b and b[0].get("accel") == accel
                       and b[0].get("icount"))
        if not cps or not mine:
            continue
        base = mine.get(key[1], mine[max(mine)])
        for cp in cps:
            vals = [value_of(r) for r in base if r.get("linux") == cp.linux
                    and value_of(r) is not None
                    and all(r.get(k) == rec.get(k) for k in cp.same)]
            if vals:
                out[key] = {"median": lower_median(vals), "linux": cp.linux}
                break
    return out


def _dedupe(rows):
    """Rows of one figure and detail from several smp groups: keep the first;
    a Linux-only row once, and only if no exocore row has that counterpart."""
    seen, out = set(), []
    for r in rows:
        key = (r.figure, r.detail, r.linux_name, r.exocore is None)
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    paired = {(r.linux_name, _running(r.detail)) for r in out
              if r.exocore is not None and r.linux is not None}
    linux_only = [r for r in out if r.exocore is None
                  and (r.linux_name, _running(r.detail)) not in paired]
    return [r for r in out if r.exocore is not None] + linux_only


def _running(detail):
    m = re.search(r"cores_running=(\d+)", detail)
    return int(m.group(1)) if m else 1


# ---------------------------------------------------------------------------
# Parsing and checking what the guest printed.

def parse_output(text, done_re=DONE_RE):
    """(figures, done) from linux-bench's output: every EXOJSON line as a
    dict, and (figures, failures) from its last line, or None if it never
    got there. A last line without its newline is not read. Raises BaselineError on an EXOJSON line that is not a
    well-formed figure."""
    figures, done = [], None
    # Only whole lines: a guest stopped mid-line left no figure, just an unfinished run.
    for raw in text.split("\n")[:-1]:
        line = raw.replace("\r", "")
        m = EXOJSON_RE.search(line)
        if m:
            try:
                fig = json.loads(m.group(1))
            except ValueError as e:
                raise BaselineError(f"garbled figure line {line[:120]!r}: {e}") from None
            problem = figure_problem(fig)
            if problem:
                raise BaselineError(f"bad figure line {line[:120]!r}: {problem}")
            figures.append(fig)
            continue
        m = done_re.search(line)
        if m:
            done = (int(m.group(1)), int(m.group(2)))
    return figures, done


def figure_problem(fig):
    if not isinstance(fig, dict):
        return "not a JSON object"
    missing = [k for k in REQUIRED_KEYS if k not in fig]
    if missing:
        return "missing " + ", ".join(missing)
    for k in ("median", "min", "max", "n"):
        if not isinstance(fig[k], int) or fig[k] < 0:
            return f"{k} is not a count"
    if not fig["min"] <= fig["median"] <= fig["max"] or fig["n"] < 1:
        return "min <= median <= max and n >= 1 do not hold"
    return None


def check_run(outcome, text, smp=1):
    """The figures of a finished guest run, or BaselineError saying why the
    run is not a complete baseline."""
    tail = "\n".join("  | " + ln for ln in text.replace("\r", "").splitlines()[-15:])
    if outcome.timed_out:
        raise BaselineError(f"Linux did not finish within {outcome.timeout:g} s; last lines:\n{tail}")
    figures, done = parse_output(text)
    if done is None:
        raise BaselineError(f"linux-bench never finished (QEMU status {outcome.status};"
                            f" {len(figures)} figures before it stopped); last lines:\n{tail}")
    if done[1] or outcome.status != GUEST_PASS:
        raise BaselineError(f"linux-bench reported {done[1]} failed operations (QEMU status "
                            f"{outcome.status}); last lines:\n{tail}")
    if done[0] != len(figures) or not figures:
        raise BaselineError(f"linux-bench said {done[0]} figures, the console had {len(figures)}")
    if smp >= 2 and not any(f.get("linux") == "futex_wake_round_trip" for f in figures):
        raise BaselineError(f"asked for {smp} cores, but Linux ran the benchmark on one "
                            "(no cross-core figures)")
    return figures


# ---------------------------------------------------------------------------
# The guest: Linux kernel, /init, initramfs.

def find_linux(explicit=None):
    """The Linux kernel image to boot: explicit, else the newest
    /boot/vmlinuz-* (Debian's linux-image-amd64)."""
    if explicit:
        if not os.path.isfile(explicit):
            raise BaselineSetupError(f"no Linux kernel at {explicit}")
        return explicit
    found = sorted(glob.glob("/boot/vmlinuz-*"), key=_version_key)
    if not found:
        raise BaselineSetupError("no Linux kernel in /boot: install Debian's linux-image-amd64"
                            " (./configure.py --install-deps does) or pass --linux PATH")
    return found[-1]


def _version_key(path):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", path)]


def kernel_release(path):
    """"6.1.0-57-amd64" from /boot/vmlinuz-6.1.0-57-amd64 (the file name; else the name)."""
    name = os.path.basename(path)
    return name[len("vmlinuz-"):] if name.startswith("vmlinuz-") else name


def source_sha(path):
    """sha256 of a source file with all whitespace removed: what the cache
    keys on, so reformatting the benchmark does not void its baselines."""
    with open(path, "rb") as f:
        return hashlib.sha256(re.sub(rb"\s+", b"", f.read())).hexdigest()


def build_bench(top, out_dir, cc=None):
    """Compile baseline/linux-bench.c statically (glibc's libc.a) into
    out_dir/linux-bench when the source is newer; returns its path."""
    src = os.path.join(top, BENCH_SOURCE)
    out = os.path.join(out_dir, "linux-bench")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    cc = cc or os.environ.get("CC") or ("gcc" if shutil.which("gcc") else "clang")
    if not shutil.which(cc):
        raise BaselineSetupError(f"no C compiler {cc!r} to build {BENCH_SOURCE}")
    os.makedirs(out_dir, exist_ok=True)
    cmd = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-static", "-pthread",
           "-o", out + ".tmp", src]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        hint = (" (a static build needs glibc's libc.a: apt-get install libc6-dev)"
                if "cannot find -lc" in p.stderr else "")
        raise BaselineError(f"building {BENCH_SOURCE} failed{hint}:\n{p.stderr.strip()}")
    os.replace(out + ".tmp", out)
    return out


def cpio_newc(entries):
    """A newc ("070701") cpio archive, as the kernel's initramfs unpacker
    reads it. entries: (name, mode, data, (major, minor) of a device or None)."""
    out = bytearray()

    def add(ino, name, mode, data, rdev):
        nameb = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nameb), 0)
        out.extend(b"070701" + b"".join(b"%08x" % f for f in fields) + nameb)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data, rdev) in enumerate(entries, 1):
        add(ino, name, mode, data, rdev or (0, 0))
    add(0, "TRAILER!!!", 0, b"", (0, 0))
    out.extend(b"\0" * (-len(out) % 512))
    return bytes(out)


def make_initramfs(bench, path):
    """An initramfs with bench as /init, /dev/console, /proc and /sys."""
    with open(bench, "rb") as f:
        init = f.read()
    archive = cpio_newc([
        ("dev", 0o040755, b"", None),
        ("dev/console", 0o020600, b"", (5, 1)),
        ("proc", 0o040755, b"", None),
        ("sys", 0o040755, b"", None),
        ("init", 0o100755, init, None),
    ])
    with open(path + ".tmp", "wb") as f:
        f.write(archive)
    os.replace(path + ".tmp", path)
    return path


def linux_args(smp, icount, rounds):
    """Linux's command line. Under -icount Linux 6.1 hangs bringing up CPU 1
    during boot (QEMU 7.2; docs/performance.md), so there it boots with
    maxcpus=1 and /init brings the other CPUs online through sysfs, which works."""
    words = [LINUX_ARGS, f"bench_rounds={rounds}"]
    if icount and smp > 1:
        words += ["maxcpus=1", "bench_online=yes"]
    return " ".join(words)


def machine(linux, smp, accel, icount, mem, rounds):
    """The qemu.Machine for a baseline boot (its argv: qemu.command() + -initrd)."""
    return qemu.Machine(kernel=linux, smp=smp, mem=mem, accel=accel, icount=icount,
                        args=linux_args(smp, icount, rounds))


def command(m, initrd):
    return qemu.command(m) + ["-initrd", initrd]


# ---------------------------------------------------------------------------
# The cache.

def cache_path(top, accel, icount, smp):
    name = f"linux-{accel}{'-icount' if icount else ''}-smp{smp}.json"
    return os.path.join(top, CACHE_DIR, name)


def key_of(record):
    """What makes a baseline reusable: same QEMU, clock, cores, memory,
    Linux kernel, benchmark source and rounds."""
    return {k: record.get(k) for k in ("qemu", "accel", "icount", "smp", "mem", "cpu",
                                       "linux_release", "bench_sha", "rounds")}


def load_cached(path, want, key=None):
    """The cached records at path if their key (key_of, or key) equals want, else None."""
    try:
        with open(path) as f:
            records = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(records, list) or not records or (key or key_of)(records[0]) != want:
        return None
    return records


def load_any(top, accel=None, icount=None):
    """Every cached baseline (lists of records), optionally of one clock."""
    out = []
    for path in sorted(glob.glob(os.path.join(top, CACHE_DIR, "linux-*.json"))):
        try:
            with open(path) as f:
                records = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(records, list) and records and (
                accel is None or clock_of(records[0]) == (accel, icount or None)):
            out.append(records)
    return out


def save(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------------------
# One baseline run.

def provenance(m, version, top, linux, bench_sha, rounds, shown_command):
    return {"os": "linux", "accel": m.accel, "icount": qemu.ICOUNT if m.icount else None,
            "smp": m.smp, "mem": m.mem, "cpu": qemu.CPU_MODEL[m.accel], "qemu": version,
            "linux_release": kernel_release(linux), "linux_cmdline": m.cmdline(),
            "bench_sha": bench_sha, "rounds": rounds, "commit": meta.git_commit(top),
            "host": meta.host(), "command": shown_command}


def run_baseline(top, *, smp=1, accel="tcg", icount=False, mem="512M",
                 rounds=DEFAULT_ROUNDS, timeout=DEFAULT_TIMEOUT, linux=None, fresh=False,
                 log_path=None, shown_command="tools/exo baseline", echo=None):
    """The Linux figures for one configuration: from the cache when its key
    matches (and not fresh), else from a boot, checked and then cached.
    Returns (records, cache path, cached?). Raises BaselineError."""
    linux = find_linux(linux)
    version = qemu.version()
    bench_sha = source_sha(os.path.join(top, BENCH_SOURCE))[:16]
    m = machine(linux, smp, accel, icount, mem, rounds)
    fields = provenance(m, version, top, linux, bench_sha, rounds, shown_command)
    path = cache_path(top, accel, icount, smp)
    if not fresh:
        cached = load_cached(path, key_of(fields))
        if cached:
            return cached, path, True
    build = os.path.join(top, BUILD_DIR)
    bench = build_bench(top, build)
    initrd = make_initramfs(bench, os.path.join(build, "initramfs.cpio"))
    log_path = log_path or os.path.join(top, "build", "logs",
                                        os.path.basename(path)[:-5] + ".log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "wb") as f:
        f.write((meta.line(fields) + "\n").encode())
        f.flush()
        outcome, text = qemu.run(command(m, initrd), timeout, [f] + ([echo] if echo else []))
    try:
        figures = check_run(outcome, text, smp)
    except BaselineError as e:
        raise BaselineError(f"{e}\n(log: {os.path.relpath(log_path, top)})") from None
    records = [dict(fig, **fields, elapsed_s=round(outcome.elapsed, 1)) for fig in figures]
    save(path, records)
    return records, path, False
