"""A sweep's results folder: results/<sweep>/<run-id>/ (docs/sweeps.md).

    meta.json        provenance: commit (dirty?), kernel sha256, QEMU, accelerator,
                     icount, host CPU and load, dates, the spec (parsed and as text),
                     status (running, complete, interrupted), counts
    plan.json        every point: key, configuration, kernel words, timeout
    points/<key>.json  one point's result: status, reason, timings, its figures
    logs/<key>.log   its console log (headed by exo's metadata line)
    raw.jsonl        every figure line, with its point          (derived)
    summary.csv      median, min, max, n per figure per point    (derived)

The point files and logs are the data; raw.jsonl and summary.csv are
regenerated from them (regenerate()), and so is the SQLite index. Files are
written whole and renamed into place, so an interrupted sweep never leaves a
half-written one; a point without its points/<key>.json did not finish and
runs again on the next attempt. Nothing is overwritten: a point run again
after a failure keeps the failed attempt beside it (points/<key>.failed-N.json).
"""

import csv
import datetime
import glob
import io
import json
import os

STATS = ("unit", "median", "min", "max", "n", "value")
# Members of a figure line that say how it was measured, not which figure it is.
NOT_IDENTITY = set(STATS) | {"accel", "tsc_hz", "since", "env"}
SUMMARY_COLUMNS = ["point", "label", "workload", "cores", "policies", "args", "mem",
                   "icount", "rep", "status", "figure", "id", "unit", "median", "min",
                   "max", "n", "accel"]


class ResultsError(Exception):
    pass


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_atomic(path, text):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path, data):
    write_atomic(path, json.dumps(data, indent=1, sort_keys=False) + "\n")


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:
        raise ResultsError(f"{path}: not readable as JSON ({e}); a half-written"
                           " or damaged results folder") from e


# ---------------------------------------------------------------------------
# Figures

def identity(data):
    """The members that, with "figure", name a figure: {"from": 0, "to": 1}."""
    return {k: v for k, v in sorted(data.items()) if k not in NOT_IDENTITY and k != "figure"}


def figure_id(data):
    """"ipi_rtt from=0 to=1": the figure and what tells it from its siblings."""
    parts = [str(data.get("figure"))]
    for k, v in identity(data).items():
        parts.append(f"{k}={json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v}")
    return " ".join(parts)


def stats(data):
    """(median, min, max, n) of a figure line; a single "value" is all four."""
    if "median" in data:
        return data.get("median"), data.get("min"), data.get("max"), data.get("n")
    v = data.get("value")
    return v, v, v, 1


# ---------------------------------------------------------------------------
# A run folder

class RunDir:
    def __init__(self, path):
        self.path = path

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    def point_path(self, key):
        return self.file("points", f"{key}.json")

    def log_path(self, key):
        return self.file("logs", f"{key}.log")

    def create(self, meta, plan):
        """Make a new run folder; refuses one that exists (never overwrites)."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        try:
            os.mkdir(self.path)
        except FileExistsError as e:
            raise ResultsError(f"{self.path} exists already; not overwriting it") from e
        os.mkdir(self.file("points"))
        os.mkdir(self.file("logs"))
        write_json(self.file("plan.json"), plan)
        write_json(self.file("meta.json"), meta)

    def meta(self):
        try:
            return read_json(self.file("meta.json"))
        except FileNotFoundError as e:
            raise ResultsError(f"{self.path} has no meta.json: not a sweep run, or a"
                               " half-written one") from e

    def plan(self):
        try:
            return read_json(self.file("plan.json"))
        except FileNotFoundError as e:
            raise ResultsError(f"{self.path} has no plan.json: a half-written run") from e

    def result(self, key):
        """The point's result, or None if it has not finished."""
        try:
            return read_json(self.point_path(key))
        except FileNotFoundError:
            return None

    def results(self):
        """Every finished point's result, in plan order."""
        out = []
        for p in self.plan()["points"]:
            r = self.result(p["key"])
            if r is not None:
                out.append(r)
        return out

    def keep_attempt(self, key):
        """Move a failed or interrupted attempt aside so the next one overwrites nothing."""
        for path, kind in ((self.point_path(key), "json"), (self.log_path(key), "log")):
            if os.path.exists(path):
                n = 1
                while os.path.exists(f"{path[:-len(kind) - 1]}.failed-{n}.{kind}"):
                    n += 1
                os.replace(path, f"{path[:-len(kind) - 1]}.failed-{n}.{kind}")

    def update_meta(self, **fields):
        meta = self.meta()
        meta.update(fields)
        write_json(self.file("meta.json"), meta)
        return meta

    def regenerate(self):
        """Rewrite raw.jsonl and summary.csv from the point files."""
        results = self.results()
        raw = io.StringIO()
        for r in results:
            for f in r.get("figures", []):
                raw.write(json.dumps({**f["data"], "cpu": f["cpu"], "point": r["key"],
                                      "config": r["config"]}, sort_keys=False) + "\n")
        write_atomic(self.file("raw.jsonl"), raw.getvalue())
        write_atomic(self.file("summary.csv"), summary_csv(results))
        return results


def summary_rows(results):
    rows = []
    for r in results:
        c = r["config"]
        base = {"point": r["key"], "label": r["label"], "workload": c["workload"],
                "cores": c["cores"], "policies": policies_text(c), "args": args_text(c),
                "mem": c["mem"], "icount": c["icount"], "rep": c["rep"],
                "status": r["status"]}
        if not r.get("figures"):
            rows.append(dict(base))
        for f in r.get("figures", []):
            med, lo, hi, n = stats(f["data"])
            rows.append(dict(base, figure=f["data"].get("figure"), id=figure_id(f["data"]),
                             unit=f["data"].get("unit"), median=med, min=lo, max=hi, n=n,
                             accel=f["data"].get("accel")))
    return rows


def summary_csv(results):
    out = io.StringIO()
    w = csv.DictWriter(out, SUMMARY_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in summary_rows(results):
        w.writerow(row)
    return out.getvalue()


def policies_text(config):
    return " ".join(f"{k}={v}" for k, v in sorted(config.get("policies", {}).items()))


def args_text(config):
    return " ".join(f"{k}={v}" for k, v in config.get("args", {}).items())


# ---------------------------------------------------------------------------
# Finding runs

def sweep_dir(root, sweep):
    return os.path.join(root, sweep)


def runs_of(root, sweep):
    """Run folders of a sweep, oldest first (run ids sort by date)."""
    return sorted(p for p in glob.glob(os.path.join(sweep_dir(root, sweep), "*"))
                  if os.path.isdir(p))


def resumable(root, sweep, spec_digest, kernel_sha):
    """The newest run of this sweep made from the same spec and kernel build, or
    None. Runs whose meta.json is missing or damaged are not candidates."""
    for path in reversed(runs_of(root, sweep)):
        try:
            meta = RunDir(path).meta()
        except ResultsError:
            continue
        if meta.get("spec_digest") == spec_digest and meta.get("kernel_sha256") == kernel_sha:
            return RunDir(path)
    return None


def new_run_id(commit):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{commit}"


def resolve(root, name):
    """A run named on the command line: a folder path, or sweep/run-id, or a
    sweep name (its newest run)."""
    for cand in (name, os.path.join(root, name)):
        if os.path.isfile(os.path.join(cand, "meta.json")):
            return RunDir(os.path.abspath(cand))
    runs = runs_of(root, name)
    if runs:
        return RunDir(runs[-1])
    raise ResultsError(f"no sweep run {name!r} (a folder with meta.json, sweep/run-id"
                       f" under {root}, or a sweep name)")


# ---------------------------------------------------------------------------
# Aggregates over repetitions: what report and compare show

VARIANT_SKIP = {"cores", "rep", "mode", "accel", "run_cores"}


def variant(config):
    """What tells a line from its siblings on a plot against cores: the
    config without cores and repetition ("sched=rr threads=8 icount")."""
    parts = [config["workload"]]
    parts += [f"{k}={v}" for k, v in config.get("args", {}).items()]
    parts += [f"{k}={v}" for k, v in sorted(config.get("policies", {}).items())]
    for k in ("mem", "disk", "frames", "seed"):
        if config.get(k) is not None and not (k == "mem" and config[k] == "512M"):
            parts.append(f"{k}={config[k]}")
    if config.get("icount"):
        parts.append("icount")
    return " ".join(parts)


def series_id(data, config):
    """figure_id without members that only repeat the point's configuration
    (boot_ms's "cores" is the point's core count: one series across cores)."""
    ident = {k: v for k, v in identity(data).items() if not (k in config and config[k] == v)}
    return " ".join([str(data.get("figure"))] + [f"{k}={v}" for k, v in ident.items()])


def clock(config, data):
    """What a figure's cycles are: "instructions" under -icount, "tcg" (host
    wall-clock, not meaningful in absolute terms) under TCG, else "cycles"."""
    if config.get("icount"):
        return "instructions"
    if (data.get("accel") or config.get("accel")) == "tcg":
        return "tcg"
    return "cycles"


def aggregate(rows, by=None):
    """{(variant, cores, series): {median, min, max, n, reps, unit, clock, config}}:
    the median of the repetitions' medians, the least min and the largest max."""
    out = {}
    for r in rows:
        med, lo, hi, n = stats(r["data"])
        if not isinstance(med, (int, float)):
            continue
        c = r["config"]
        k = (variant(c), c["cores"], series_id(r["data"], c)) if by is None else by(r)
        a = out.setdefault(k, {"medians": [], "min": lo, "max": hi, "n": 0,
                               "unit": r["data"].get("unit"), "clock": clock(c, r["data"]),
                               "config": c, "figure": r["data"].get("figure"),
                               "data": r["data"]})
        a["medians"].append(med)
        a["min"] = min(a["min"], lo) if lo is not None else a["min"]
        a["max"] = max(a["max"], hi) if hi is not None else a["max"]
        a["n"] += n or 0
    for a in out.values():
        m = sorted(a.pop("medians"))
        a["reps"] = len(m)
        a["median"] = m[len(m) // 2] if len(m) % 2 else (m[len(m) // 2 - 1] + m[len(m) // 2]) / 2
    return out
