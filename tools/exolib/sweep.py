"""Run a sweep: choose its results folder (new, or the one to resume), run
each point that is not done as a fresh QEMU boot, judge it, keep its log and
figures, and bring the derived files and the index up to date.

A point's identity (its key) is a hash of its whole configuration and the
kernel's sha256, so a rerun with the same spec and kernel resumes in the same
folder and skips the points that succeeded; a failed point runs again, its
earlier attempt kept beside it. `force` makes a new folder and runs all.
"""

import hashlib
import os
import threading
import time

from . import index, logparse, meta, qemu, results, spec, verdict

STATUS_OK, STATUS_FAILED = "ok", "failed"


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def plan_of(sp, kernel, kernel_sha):
    """plan.json: every point with what a task needs to run it alone."""
    return {"sweep": sp.name, "kernel": kernel, "kernel_sha256": kernel_sha, "points": [
        {"index": i, "key": p.key(kernel_sha), "label": p.label(), "config": p.config,
         "words": p.words(), "timeout": p.timeout}
        for i, p in enumerate(sp.points)]}


def run_meta(sp, top, kernel, kernel_sha, version, run_id):
    commit = meta.git_commit(top)
    icounts = sorted({p.config["icount"] for p in sp.points})
    seeds = sorted({p.config["seed"] for p in sp.points if p.config["seed"] is not None})
    return {"sweep": sp.name, "run_id": run_id, "status": "created",
            "commit": commit, "dirty": commit.endswith("-dirty"),
            "kernel": kernel, "kernel_sha256": kernel_sha, "mode": sp.mode,
            "qemu": version, "accel": sorted({p.config["accel"] for p in sp.points})[0],
            "icount": icounts, "seeds": seeds,
            "host": meta.host(), "cpu_model": meta.host_cpu_model(),
            "host_cpus": os.cpu_count(), "load_at_start": meta.host_load(),
            "started": results.now(), "finished": None, "wall_s": None,
            "spec_path": os.path.relpath(sp.path, top) if sp.path.startswith(top) else sp.path,
            "spec_digest": sp.digest(), "spec": sp.data, "spec_text": sp.text,
            "cmdlines": sorted({p.words() for p in sp.points}),
            "points": len(sp.points), "attempts": []}


def prepare(sp, top, root, kernel, version, force=False):
    """(RunDir, plan, resumed): the folder this sweep writes into."""
    kernel_sha = file_sha256(kernel)
    plan = plan_of(sp, kernel, kernel_sha)
    if not force:
        old = results.resumable(root, sp.name, sp.digest(), kernel_sha)
        if old is not None:
            return old, old.plan(), True
    run_id = results.new_run_id(meta.git_commit(top))
    run = results.RunDir(os.path.join(results.sweep_dir(root, sp.name), run_id))
    n = 1
    while os.path.exists(run.path):  # two sweeps in one second: never overwrite
        n += 1
        run = results.RunDir(os.path.join(results.sweep_dir(root, sp.name), f"{run_id}.{n}"))
    run.create(run_meta(sp, top, kernel, kernel_sha, version, os.path.basename(run.path)), plan)
    return run, plan, False


def todo(run, plan):
    """Plan entries still to run: no result, or a failed one (moved aside first)."""
    out = []
    for e in plan["points"]:
        r = run.result(e["key"])
        if r is not None and r["status"] == STATUS_OK:
            continue
        out.append(e)
    return out


class FirstFigure:
    """A console sink that notes when the first EXOJSON line arrives."""

    def __init__(self, t0):
        self.t0, self.at, self.tail = t0, None, b""

    def write(self, data):
        if self.at is None:
            seen = self.tail + data  # the console arrives a few bytes at a time
            if b"EXOJSON" in seen:
                self.at = time.monotonic() - self.t0
            self.tail = seen[-8:]

    def flush(self):
        pass


def point_problems(entry, outcome, log):
    """Why a point's boot does not count; [] when it does."""
    c = entry["config"]
    program = None
    if c["workload"] != spec.BOOT:
        program = (c["workload"], min(c["run_cores"], verdict.default_cores(c["cores"])))
    expect = verdict.Expect(cores=verdict.default_cores(c["cores"]), summary=False,
                            program=program)
    problems = verdict.judge(expect, outcome, log)
    if verdict.guest_verdict(outcome, log) == "pass":
        problems += verdict.request_problems(log)
    if not log.figures and not problems:
        problems.append("the point printed no figure (no EXOJSON line)")
    return list(dict.fromkeys(problems))


def run_point(run, entry, kernel, version, stop=None):
    """Boot one point, write points/<key>.json, return the result (None when
    stop was set meanwhile: an interrupted point leaves no result)."""
    key, cfg = entry["key"], entry["config"]
    run.keep_attempt(key)
    point = spec.Point(cfg, entry["timeout"])
    disk = None
    if cfg.get("disk"):
        disk = run.file("logs", f"{key}.disk")
        with open(disk, "wb") as f:
            f.truncate(_bytes(cfg["disk"]))
    machine = point.machine(kernel, disk)
    fields = meta.boot_fields(machine, version, cfg["mode"], run.meta().get("commit"),
                              meta.host(), qemu.CPU_MODEL[machine.accel])
    started = results.now()
    t0 = time.monotonic()
    first = FirstFigure(t0)
    try:
        with open(run.log_path(key), "wb") as f:
            f.write((meta.line(fields) + "\n").encode())
            f.flush()
            outcome, text = qemu.run(qemu.command(machine), entry["timeout"], [f, first])
    finally:
        if disk:
            os.remove(disk)
    if stop is not None and stop.is_set():
        return None
    log = logparse.parse_log(text)
    problems = point_problems(entry, outcome, log)
    result = {
        "key": key, "label": entry["label"], "config": cfg, "words": entry["words"],
        "cmdline": machine.cmdline(), "status": STATUS_FAILED if problems else STATUS_OK,
        "reason": "; ".join(problems) or None, "qemu_status": outcome.status,
        "timed_out": outcome.timed_out, "elapsed_s": round(outcome.elapsed, 3),
        "first_figure_s": None if first.at is None else round(first.at, 3),
        "started": started, "finished": results.now(), "host_load": meta.host_load(),
        "log": os.path.relpath(run.log_path(key), run.path),
        "figures": [{"cpu": f.cpu, "data": f.data} for f in log.figures],
        "bad_figures": log.bad_figures,
    }
    results.write_json(run.point_path(key), result)
    return result


def _bytes(size):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size) << 20


def default_budget():
    """Host cores: TCG runs a thread per vCPU, so points share them."""
    return os.cpu_count() or 1


def execute_local(entries, work, jobs=None, on_done=None, abort=None):
    """Run work(entry) for each entry on threads. With jobs None, start points
    while the sum of their cores fits the host's (always at least one);
    else jobs at a time. on_done(entry, result) runs in this thread; abort()
    runs on an exception (^C) before waiting for the running work to end."""
    import concurrent.futures as cf
    budget = default_budget()

    def weight(e):
        return 1 if jobs else min(e["config"]["cores"], budget)
    limit = jobs or budget
    pending = list(entries)
    running = {}
    used = 0
    with cf.ThreadPoolExecutor(max_workers=max(1, min(len(entries), limit))) as pool:
        try:
            while pending or running:
                while pending and (not running or used + weight(pending[0]) <= limit):
                    e = pending.pop(0)
                    running[pool.submit(work, e)] = e
                    used += weight(e)
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    e = running.pop(fut)
                    used -= weight(e)
                    r = fut.result()
                    if on_done:
                        on_done(e, r)
        except BaseException:
            for fut in running:
                fut.cancel()
            if abort:
                abort()
            raise


def finish(run, root, started_mono, status, executor, jobs, ran):
    """Derived files, meta.json and the index after an attempt."""
    res = run.regenerate()
    m = run.meta()
    wall = round(time.monotonic() - started_mono, 2)
    attempts = m.get("attempts", []) + [{
        "started": m.get("attempt_started"), "finished": results.now(), "wall_s": wall,
        "executor": executor, "jobs": jobs, "ran": ran, "status": status}]
    ok = sum(1 for r in res if r["status"] == STATUS_OK)
    failed = sum(1 for r in res if r["status"] != STATUS_OK)
    missing = len(run.plan()["points"]) - len(res)
    m = run.update_meta(status=status, finished=results.now(), wall_s=wall,
                        load_at_end=meta.host_load(), attempts=attempts, ok=ok,
                        failed=failed, not_run=missing)
    index.add_run(root, run)
    return m


def begin_attempt(run):
    run.update_meta(status="running", attempt_started=results.now())


class Stop:
    """Set on ^C so running points leave no result."""

    def __init__(self):
        self.event = threading.Event()

    def is_set(self):
        return self.event.is_set()

    def set(self):
        self.event.set()
