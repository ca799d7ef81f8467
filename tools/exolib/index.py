"""The SQLite index of every sweep run under results/ (results/index.sqlite).

The files are the source of truth; the index is a copy made for questions
across runs and commits (SQL, or pandas.read_sql), and rebuild() makes it
again from the files. Tables:

    runs(path, sweep, run_id, status, commit_id, dirty, kernel_sha256, qemu,
         accel, mode, started, finished, wall_s, host, cpu_model, spec_digest)
    points(path, key, label, workload, cores, policies, args, status, reason,
           elapsed_s, first_figure_s, config)
    figures(path, key, figure, id, unit, median, min, max, n, accel, data)
    provenance(path, field, value)     -- every meta.json field, as JSON text

    SELECT r.commit_id, f.id, f.median FROM figures f JOIN runs r USING (path)
      WHERE f.figure = 'null_syscall' ORDER BY r.started;
"""

import glob
import json
import os
import sqlite3

from . import results

NAME = "index.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs(path TEXT PRIMARY KEY, sweep TEXT, run_id TEXT, status TEXT,
  commit_id TEXT, dirty INTEGER, kernel_sha256 TEXT, qemu TEXT, accel TEXT, mode TEXT,
  started TEXT, finished TEXT, wall_s REAL, host TEXT, cpu_model TEXT, spec_digest TEXT);
CREATE TABLE IF NOT EXISTS points(path TEXT, key TEXT, label TEXT, workload TEXT,
  cores INTEGER, policies TEXT, args TEXT, status TEXT, reason TEXT, elapsed_s REAL,
  first_figure_s REAL, config TEXT, PRIMARY KEY(path, key));
CREATE TABLE IF NOT EXISTS figures(path TEXT, key TEXT, figure TEXT, id TEXT, unit TEXT,
  median REAL, min REAL, max REAL, n INTEGER, accel TEXT, data TEXT);
CREATE TABLE IF NOT EXISTS provenance(path TEXT, field TEXT, value TEXT);
CREATE INDEX IF NOT EXISTS figures_by_run ON figures(path, key);
"""


def path_of(root):
    return os.path.join(root, NAME)


def connect(root):
    os.makedirs(root, exist_ok=True)
    db = sqlite3.connect(path_of(root), timeout=30)
    db.executescript(SCHEMA)
    return db


def _rel(root, path):
    return os.path.relpath(os.path.abspath(path), os.path.abspath(root))


def add_run(root, run):
    """(Re)index one run folder from its files."""
    meta = run.meta()
    res = run.results()
    rel = _rel(root, run.path)
    db = connect(root)
    with db:
        for table in ("runs", "points", "figures", "provenance"):
            db.execute(f"DELETE FROM {table} WHERE path = ?", (rel,))
        db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (rel, meta.get("sweep"), meta.get("run_id"), meta.get("status"),
                    meta.get("commit"), int(bool(meta.get("dirty"))),
                    meta.get("kernel_sha256"), meta.get("qemu"), meta.get("accel"),
                    meta.get("mode"), meta.get("started"), meta.get("finished"),
                    meta.get("wall_s"), meta.get("host"), meta.get("cpu_model"),
                    meta.get("spec_digest")))
        for k, v in meta.items():
            db.execute("INSERT INTO provenance VALUES (?,?,?)", (rel, k, json.dumps(v)))
        for r in res:
            c = r["config"]
            db.execute("INSERT INTO points VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       (rel, r["key"], r["label"], c["workload"], c["cores"],
                        results.policies_text(c), results.args_text(c), r["status"],
                        r.get("reason"), r.get("elapsed_s"), r.get("first_figure_s"),
                        json.dumps(c, sort_keys=True)))
            for f in r.get("figures", []):
                med, lo, hi, n = results.stats(f["data"])
                db.execute("INSERT INTO figures VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                           (rel, r["key"], f["data"].get("figure"),
                            results.figure_id(f["data"]), f["data"].get("unit"),
                            _num(med), _num(lo), _num(hi), _num(n), f["data"].get("accel"),
                            json.dumps(f["data"], sort_keys=True)))
    db.close()


def _num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def rebuild(root):
    """Drop the index and make it again from every run folder's files.
    Returns (indexed, skipped) where skipped lists (path, why)."""
    try:
        os.remove(path_of(root))
    except FileNotFoundError:
        pass
    done, skipped = 0, []
    for meta in sorted(glob.glob(os.path.join(root, "*", "*", "meta.json"))):
        run = results.RunDir(os.path.dirname(meta))
        try:
            add_run(root, run)
            done += 1
        except results.ResultsError as e:
            skipped.append((run.path, str(e)))
    return done, skipped


def query(root, sql, args=()):
    db = connect(root)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def figure_rows(root, run):
    """Every figure of a run as a dict (the point's config parsed), read from
    the index after indexing the run again from its files (the source of
    truth: Slurm tasks may have added points since)."""
    rel = _rel(root, run.path)
    add_run(root, run)
    rows = query(root, "SELECT p.key, p.label, p.status, p.config, f.figure, f.id, f.unit,"
                       " f.median, f.min, f.max, f.n, f.accel, f.data FROM figures f"
                       " JOIN points p ON p.path = f.path AND p.key = f.key"
                       " WHERE f.path = ? ORDER BY f.rowid", (rel,))
    names = ("key", "label", "status", "config", "figure", "id", "unit", "median", "min",
             "max", "n", "accel", "data")
    out = []
    for r in rows:
        d = dict(zip(names, r))
        d["config"] = json.loads(d["config"])
        d["data"] = json.loads(d["data"])
        out.append(d)
    return out
