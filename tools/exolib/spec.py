"""Sweep specs (TOML, read with tomllib) and the points they expand to.

    [sweep]
    name = "micro"              # results/<name>/...
    mode = "release"            # which build: build/<mode>/kernel.elf (default release)
    accel = "tcg"               # tcg (default) | kvm
    icount = [false, true]      # -icount on/off: a bool or a list (default false)
    cores = [1, 2, 4, 8]        # a number or a list (required)
    mem = "512M"                # a size or a list (default 512M)
    disk = "64M"                # optional: a blank virtio disk of this size, or a list
    frames = [64, 128]          # optional frame budgets: the program's frames=N
    seeds = [1, 2]              # optional: the program's seed=N
    repetitions = 3             # fresh boots per point (default 1)
    timeout = 300               # seconds per point (default 300)

    [[workload]]
    name = "boot"               # "boot": the kernel's own figures, no program
    args = { ipi_rounds = 200 } # kernel words for boot; the program's for a program

    [[workload]]
    name = "schedmix"           # a program: build/<mode>/user/schedmix.elf
    args = { threads = [2, 8] } # a list is one more axis
    run_cores = "all"           # "all" (default: the point's cores) or a number

    [policies]                  # per kind, a list of name or name:param=value,...
    sched = ["rr", "lottery:quantum_us=500"]

    [[exclude]]                 # drop the points matching every key given
    workload = "schedmix"
    cores = 1
    [[include]]                 # add a point (unset axes: the first value of each)
    workload = "boot"
    cores = 16

Everything is checked before anything runs: unknown keys, workloads,
policies and their parameters are errors naming the file and line.
"""

import hashlib
import itertools
import json
import re
import tomllib
from dataclasses import dataclass, field

from . import catalog, manifest, qemu, request

SWEEP_KEYS = {"name", "description", "mode", "accel", "icount", "cores", "mem", "disk",
              "frames", "seeds", "repetitions", "timeout"}
WORKLOAD_KEYS = {"name", "args", "run_cores", "timeout"}
TOP_KEYS = {"sweep", "workload", "policies", "exclude", "include"}
RULE_KEYS = {"workload", "cores", "mem", "disk", "frames", "icount", "seed", "rep"} | set(
    catalog.POLICY_KINDS)
BOOT = "boot"  # the workload with no program: the kernel's boot figures
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MODES = ("debug", "release")
DEFAULT_TIMEOUT = 300
# Words a sweep sets itself; a workload's args may not.
RESERVED_WORDS = {"run", "run_cores", "accel", "icount", "seed", "frames"} | set(
    catalog.POLICY_KINDS)


class SpecError(Exception):
    pass


@dataclass
class Spec:
    path: str
    text: str
    data: dict
    name: str
    mode: str
    points: list = field(default_factory=list)  # Point, in order

    def digest(self):
        """The spec's content (not its comments or layout): runs of the same
        digest and kernel resume each other."""
        blob = json.dumps(self.data, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Point:
    """One fresh boot: its whole configuration (config) and the machine for it."""
    config: dict
    timeout: float

    @property
    def workload(self):
        return self.config["workload"]

    def words(self):
        """The kernel command line (without accel=/icount=, which qemu adds)."""
        c = self.config
        out = []
        if c["workload"] != BOOT:
            out += [f"run={c['workload']}", f"run_cores={c['run_cores']}"]
        out += [f"{k}={v}" for k, v in c["args"].items()]
        out += [f"{k}={v}" for k, v in c["policies"].items()]
        if c["frames"] is not None:
            out.append(f"frames={c['frames']}")
        if c["seed"] is not None:
            out.append(f"seed={c['seed']}")
        return " ".join(out)

    def key(self, kernel_sha):
        """The point's identity: its configuration and the kernel build."""
        blob = json.dumps({"config": self.config, "kernel": kernel_sha}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def machine(self, kernel, disk_path=None):
        c = self.config
        return qemu.Machine(kernel=kernel, smp=c["cores"], mem=c["mem"], accel=c["accel"],
                            args=self.words(), icount=c["icount"], disk=disk_path)

    def label(self):
        """A short human name: bench@4 sched=rr rep1."""
        c = self.config
        parts = [f"{c['workload']}@{c['cores']}"]
        parts += [f"{k}={v}" for k, v in c["args"].items()]
        parts += [f"{k}={v}" for k, v in c["policies"].items()]
        for k in ("mem", "disk", "frames", "seed"):
            if c[k] is not None and not (k == "mem" and c[k] == manifest.DEFAULT_MEM):
                parts.append(f"{k}={c[k]}")
        if c["icount"]:
            parts.append("icount")
        if c["rep"]:
            parts.append(f"rep{c['rep']}")
        return " ".join(parts)


# ---------------------------------------------------------------------------
# Where a key is written: tomllib keeps no positions, so find the line.

class Locator:
    """Line numbers of TOML keys by (table, index of an array table, key)."""

    HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\"-]+)\s*\]\]?")
    KEY = re.compile(r"\s*([A-Za-z0-9_\"-]+)\s*=")

    def __init__(self, text):
        self.headers = {}  # (table, index) -> line
        self.keys = {}  # (table, index, key) -> line
        counts = {}
        table, index = None, 0
        for no, line in enumerate(text.splitlines(), 1):
            m = self.HEADER.match(line)
            if m:
                table = m.group(2).strip('"')
                if m.group(1) == "[[":
                    index = counts.get(table, -1) + 1
                    counts[table] = index
                else:
                    index = 0
                self.headers.setdefault((table, index), no)
                continue
            m = self.KEY.match(line)
            if m:
                self.keys.setdefault((table, index, m.group(1).strip('"')), no)

    def line(self, table, index=0, key=None):
        if key is not None and (table, index, key) in self.keys:
            return self.keys[(table, index, key)]
        return self.headers.get((table, index))


class _Checker:
    def __init__(self, path, text):
        self.path, self.loc = path, Locator(text)

    def fail(self, msg, table=None, index=0, key=None):
        line = self.loc.line(table, index, key) if table is not None else None
        where = f"{self.path}:{line}" if line else self.path
        raise SpecError(f"{where}: {msg}")

    def keys(self, d, allowed, table, index=0):
        for k in d:
            if k not in allowed:
                self.fail(f"unknown key {k!r} in [{table}]; known: {', '.join(sorted(allowed))}",
                          table, index, k)

    def listof(self, d, key, table, check, default, index=0):
        """d[key] as a non-empty list of values each passing check (a scalar is a list of one)."""
        if key not in d:
            return list(default)
        v = d[key]
        values = v if isinstance(v, list) else [v]
        if not values:
            self.fail(f"{key} is an empty list", table, index, key)
        for x in values:
            problem = check(x)
            if problem:
                self.fail(f"{key} = {x!r}: {problem}", table, index, key)
        if len(set(map(repr, values))) != len(values):
            self.fail(f"{key} lists a value twice", table, index, key)
        return values


def _positive_int(x):
    return None if isinstance(x, int) and not isinstance(x, bool) and x >= 1 else \
        "want a whole number of at least 1"


def _cores(x):
    p = _positive_int(x)
    return p or (None if x <= qemu_max_cores() else f"at most {qemu_max_cores()} cores")


def qemu_max_cores():
    return 288  # QEMU q35's limit; the kernel uses at most 64 of them


def _size(x):
    return None if isinstance(x, str) and manifest.MEM_RE.fullmatch(x) else \
        "want a size such as 512M"


def _bool(x):
    return None if isinstance(x, bool) else "want true or false"


def _seed(x):
    return None if isinstance(x, int) and not isinstance(x, bool) and x >= 0 else \
        "want a whole number"


def _arg_value(x):
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)) or (isinstance(x, str) and x and not any(
            c.isspace() for c in x)):
        return None
    return "want a number, a boolean or a word without spaces"


def load(path, top, known_programs=None, known_policies=request.FROM_BUILD):
    """Read and check the spec at path; expand its points. known_programs:
    names of the built programs (default: build/<mode>/user); known_policies:
    catalog.policies() (default: build/<mode>/policies.json)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise SpecError(f"cannot read the spec {path}: {e.strerror}") from e
    text = raw.decode("utf-8", "replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        line = m.group(1) if m else (len(text.splitlines()) if "end of document" in str(e)
                                     else None)
        where = f"{path}:{line}" if line else path
        raise SpecError(f"{where}: not valid TOML: {e}") from e
    ck = _Checker(path, text)
    ck.keys(data, TOP_KEYS, None)
    sw = data.get("sweep")
    if not isinstance(sw, dict):
        raise SpecError(f"{path}: no [sweep] table (name, cores, ...)")
    ck.keys(sw, SWEEP_KEYS, "sweep")
    name = sw.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        ck.fail("name: want a word of letters, digits, '_', '-', '.'", "sweep", 0,
                "name" if "name" in sw else None)
    mode = sw.get("mode", "release")
    if mode not in MODES:
        ck.fail(f"mode = {mode!r}: want one of {', '.join(MODES)}", "sweep", 0, "mode")
    accel = sw.get("accel", "tcg")
    if accel not in qemu.ACCELS:
        ck.fail(f"accel = {accel!r}: want one of {', '.join(qemu.ACCELS)}", "sweep", 0, "accel")
    if "cores" not in sw:
        ck.fail("cores is required (a number or a list)", "sweep")
    axes = {
        "cores": ck.listof(sw, "cores", "sweep", _cores, ()),
        "mem": ck.listof(sw, "mem", "sweep", _size, [manifest.DEFAULT_MEM]),
        "disk": ck.listof(sw, "disk", "sweep", _size, [None]),
        "frames": ck.listof(sw, "frames", "sweep", _positive_int, [None]),
        "icount": ck.listof(sw, "icount", "sweep", _bool, [False]),
        "seed": ck.listof(sw, "seeds", "sweep", _seed, [None]),
    }
    if accel != "tcg" and True in axes["icount"]:
        ck.fail("icount needs accel = \"tcg\"", "sweep", 0, "icount")
    reps = sw.get("repetitions", 1)
    if _positive_int(reps):
        ck.fail(f"repetitions = {reps!r}: {_positive_int(reps)}", "sweep", 0, "repetitions")
    timeout = sw.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        ck.fail(f"timeout = {timeout!r}: want seconds above 0", "sweep", 0, "timeout")

    programs = catalog.programs(top, mode) if known_programs is None else known_programs
    workloads = _workloads(ck, data, programs, mode)
    pol_axes = _policies(ck, data, top, mode, known_policies, workloads)
    base = dict(accel=accel, mode=mode)
    points = []
    for w in workloads:
        for combo in _product(axes, w, pol_axes, reps):
            points.append(_point(base, w, combo, timeout))
    points = _apply_rules(ck, data, points, axes, workloads, pol_axes, base, timeout,
                          lambda: _known(top, mode, known_policies))
    if not points:
        ck.fail("the spec has no points left (every one excluded?)", "sweep")
    for p in points:
        if p.config["workload"] != BOOT and p.config["run_cores"] > p.config["cores"]:
            ck.fail(f"run_cores = {p.config['run_cores']} is more than {p.config['cores']}"
                    " cores (a point on fewer cores)", "workload",
                    workloads.index(next(w for w in workloads
                                         if w["name"] == p.workload)), "run_cores")
    seen = {}
    for p in points:
        k = json.dumps(p.config, sort_keys=True)
        if k in seen:
            raise SpecError(f"{path}: the point {p.label()} appears twice (an include"
                            " repeating the cross product?)")
        seen[k] = p
    return Spec(path=path, text=text, data=data, name=name, mode=mode, points=points)


def _workloads(ck, data, programs, mode):
    ws = data.get("workload")
    if ws is None:
        ck.fail("no [[workload]] (name = \"boot\" runs the kernel's own figures)", "sweep")
    if not isinstance(ws, list):
        ck.fail("workload must be an array of tables: [[workload]]", "workload")
    out = []
    for i, w in enumerate(ws):
        ck.keys(w, WORKLOAD_KEYS, "workload", i)
        name = w.get("name")
        if not isinstance(name, str):
            ck.fail("a workload needs a name", "workload", i)
        if name != BOOT and name not in programs:
            if not programs:
                ck.fail(f"no programs are built in build/{mode}/user (ninja {mode});"
                        f" cannot check workload {name!r}", "workload", i, "name")
            ck.fail(f"unknown workload {name!r}; known: {BOOT}, {', '.join(programs)}",
                    "workload", i, "name")
        args = w.get("args", {})
        if not isinstance(args, dict):
            ck.fail("args: want a table of word = value", "workload", i, "args")
        arg_axes = {}
        for k, v in args.items():
            if not WORD_RE.fullmatch(k):
                ck.fail(f"args: {k!r} is not a word", "workload", i, "args")
            if k in RESERVED_WORDS:
                ck.fail(f"args: {k!r} is set by the sweep itself (use [sweep] or"
                        " [policies])", "workload", i, "args")
            arg_axes[k] = ck.listof(args, k, "workload", _arg_value, (), i)
            ck.loc.keys.setdefault(("workload", i, k), ck.loc.line("workload", i, "args"))
        rc = w.get("run_cores", "all")
        if rc != "all" and _positive_int(rc):
            ck.fail(f"run_cores = {rc!r}: want \"all\" or a number", "workload", i, "run_cores")
        if name == BOOT and "run_cores" in w:
            ck.fail("run_cores means nothing for the boot workload", "workload", i, "run_cores")
        t = w.get("timeout")
        if t is not None and (not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0):
            ck.fail(f"timeout = {t!r}: want seconds above 0", "workload", i, "timeout")
        if any(o["name"] == name and o["args"] == arg_axes for o in out):
            ck.fail(f"workload {name!r} is listed twice with the same args", "workload", i)
        out.append({"name": name, "args": arg_axes, "run_cores": rc, "timeout": t, "index": i})
    return out


def _policies(ck, data, top, mode, known_policies, workloads):
    pol = data.get("policies", {})
    if not isinstance(pol, dict):
        ck.fail("policies: want a table of kind = [names]", "policies")
    ck.keys(pol, set(catalog.POLICY_KINDS), "policies")
    if not pol:
        return {}
    known = _known(top, mode, known_policies)
    out = {}
    for kind in pol:
        def check(x, kind=kind):
            if not isinstance(x, str):
                return "want \"name\" or \"name:param=value,...\""
            return catalog.policy_problem(kind, x, known, mode)
        out[kind] = ck.listof(pol, kind, "policies", check, ())
    if any(w["name"] == BOOT for w in workloads):
        ck.fail("policies apply to programs; the boot workload runs none (exclude it, or"
                " give policies only in a spec without it)", "policies")
    return out


def _known(top, mode, known_policies):
    return catalog.policies(top, mode) if known_policies is request.FROM_BUILD else known_policies


def _product(axes, w, pol_axes, reps):
    """Every combination for workload w: dicts of axis -> value."""
    names = list(axes) + [f"args.{k}" for k in w["args"]] + list(pol_axes) + ["rep"]
    lists = list(axes.values()) + list(w["args"].values()) + list(pol_axes.values()) + [
        list(range(reps))]
    for values in itertools.product(*lists):
        yield dict(zip(names, values))


def _point(base, w, combo, timeout):
    cores = combo["cores"]
    rc = cores if w["run_cores"] == "all" else w["run_cores"]
    config = {
        "workload": w["name"],
        "args": {k[5:]: _word(v) for k, v in combo.items() if k.startswith("args.")},
        "run_cores": None if w["name"] == BOOT else rc,
        "cores": cores, "mem": combo["mem"], "disk": combo["disk"],
        "frames": combo["frames"], "icount": combo["icount"], "seed": combo["seed"],
        "policies": {k: combo[k] for k in catalog.POLICY_KINDS if k in combo},
        "rep": combo["rep"], "accel": base["accel"], "mode": base["mode"],
    }
    return Point(config=config, timeout=float(w["timeout"] or timeout))


def _word(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def _matches(rule, p):
    c = p.config
    for k, want in rule.items():
        have = c["policies"].get(k) if k in catalog.POLICY_KINDS else c.get(k)
        wants = want if isinstance(want, list) else [want]
        if have not in wants:
            return False
    return True


def _apply_rules(ck, data, points, axes, workloads, pol_axes, base, timeout, known_policies):
    for table in ("exclude", "include"):
        rules = data.get(table, [])
        if not isinstance(rules, list):
            ck.fail(f"{table} must be an array of tables: [[{table}]]", table)
        for i, r in enumerate(rules):
            ck.keys(r, RULE_KEYS, table, i)
            if not r:
                ck.fail(f"an empty [[{table}]] rule", table, i)
    for i, r in enumerate(data.get("exclude", [])):
        before = len(points)
        points = [p for p in points if not _matches(r, p)]
        if len(points) == before:
            ck.fail("this exclude rule matches no point (a typo?)", "exclude", i)
    for i, r in enumerate(data.get("include", [])):
        wname = r.get("workload", workloads[0]["name"])
        w = next((w for w in workloads if w["name"] == wname), None)
        if w is None:
            ck.fail(f"include: workload {wname!r} is not one of the [[workload]]s",
                    "include", i, "workload")
        combo = {k: v[0] for k, v in axes.items()}
        combo.update({f"args.{k}": v[0] for k, v in w["args"].items()})
        combo.update({k: v[0] for k, v in pol_axes.items()})
        combo["rep"] = 0
        for k, v in r.items():
            if k == "workload":
                continue
            if isinstance(v, list):
                ck.fail(f"include: {k} must be one value", "include", i, k)
            check = {"cores": _cores, "mem": _size, "disk": _size, "frames": _positive_int,
                     "icount": _bool, "seed": _seed, "rep": _seed}.get(k)
            if check and check(v):
                ck.fail(f"include: {k} = {v!r}: {check(v)}", "include", i, k)
            if k in catalog.POLICY_KINDS:
                problem = catalog.policy_problem(k, v, known_policies(), base["mode"]) \
                    if isinstance(v, str) else "want \"name\" or \"name:param=value,...\""
                if problem:
                    ck.fail(f"include: {problem}", "include", i, k)
            combo[k] = v
        points.append(_point(base, w, combo, timeout))
    return points
