"""Plots of a sweep run with matplotlib (Debian's python3-matplotlib), each as
PNG and SVG, from the figure rows of the index (index.figure_rows):

- every figure measured at more than one core count: its median with min-max
  bars against cores, one line per variant (policies, arguments, ...) and series;
- figures measured at more than one frame budget: against the budget, one line
  per pager ("faults against budget per pager");
- CPU shares (unit "share" or "ppm", or a figure named *share*): a bar per
  thread, grouped by scheduler;
- figures with percentile members (p50, p90, p99, ...): percentiles per IPC policy.

Figures measured at one point only are left to the tables. A title says when
the numbers are TCG wall-clock or -icount instructions.
"""

import os
import re

from . import results

INSTALL = "apt-get install python3-matplotlib (or ./configure.py --install-deps)"
PERCENTILE_RE = re.compile(r"p(\d{1,2}(?:\.\d+)?)$")


class PlotError(Exception):
    pass


def pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise PlotError(f"plots need matplotlib: {INSTALL} (and run tools/exo with"
                        " /usr/bin/python3)") from e
    return plt


CLOCK_NOTE = {"tcg": "TCG wall-clock: not cycles, compare only within a run",
              "instructions": "-icount: guest instructions", "cycles": "cycles"}


def safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "figure"


def _save(plt, fig, out_dir, name):
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(out_dir, f"{name}.{ext}")
        fig.savefig(path, dpi=110, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return {"name": name, "png": paths[0], "svg": paths[1]}


def kernel_figures_from_boot(rows):
    """The kernel prints its boot figures in every boot, whatever the workload;
    when the sweep has boot-workload points, plot those figures from them
    alone, so each plot has one line per series, not one per workload."""
    boot_figs = {r["data"].get("figure") for r in rows
                 if r["config"]["workload"] == "boot" and "env" not in r["data"]}
    return [r for r in rows if r["config"]["workload"] == "boot" or "env" in r["data"]
            or r["data"].get("figure") not in boot_figs]


def plot_run(rows, out_dir):
    """Write every plot for a run's figure rows; return [{name, png, svg, title, clock}]."""
    plt = pyplot()
    os.makedirs(out_dir, exist_ok=True)
    rows = kernel_figures_from_boot(rows)
    made = []
    made += against_cores(plt, rows, out_dir)
    made += against_frames(plt, rows, out_dir)
    made += shares(plt, rows, out_dir)
    made += percentiles(plt, rows, out_dir)
    return made


DROP = ("core", "policies")  # a copy's core and the policy (the variant says it) make no line


def labeler(rows, drop=DROP):
    """A row's series label on a plot: its figure and the identity members
    that vary among rows (thread=2), not those all share (kind=cpu)."""
    def ident(r):
        return {k: v for k, v in results.identity(r["data"]).items()
                if k not in drop and not (k in r["config"] and r["config"][k] == v)}
    idents = [ident(r) for r in rows]
    keys = sorted({k for i in idents for k in i
                   if len({repr(j.get(k)) for j in idents}) > 1})

    def label(r):
        i = ident(r)
        return " ".join([str(r["data"].get("figure"))] + [f"{k}={i[k]}" for k in keys if k in i])
    return label


def _by_figure(rows):
    out = {}
    for r in rows:
        out.setdefault(r["data"].get("figure"), []).append(r)
    return out


def against_cores(plt, rows, out_dir):
    made = []
    for figure, frows in sorted(_by_figure(rows).items()):
        label_of = labeler(frows)
        agg = results.aggregate(frows, by=lambda r: (results.variant(r["config"]),
                                                     r["config"]["cores"], label_of(r)))
        if len({k[1] for k in agg}) < 2:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.2))
        lines = sorted({(k[0], k[2]) for k in agg})
        clocks = {a["clock"] for a in agg.values()}
        unit = next(iter(agg.values()))["unit"]
        for var, series in lines[:12]:
            pts = sorted((k[1], a) for k, a in agg.items() if (k[0], k[2]) == (var, series))
            xs = [c for c, _ in pts]
            ys = [a["median"] for _, a in pts]
            lo = [a["median"] - a["min"] for _, a in pts]
            hi = [a["max"] - a["median"] for _, a in pts]
            label = series if len({v for v, _ in lines}) == 1 else f"{var}: {series}"
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
        ax.set_xlabel("cores")
        ax.set_ylabel(f"{unit} (median, min–max)")
        ax.set_xticks(sorted({k[1] for k in agg}))
        if any(a["max"] > 20 * max(a["median"], 1e-9) for a in agg.values()):
            ax.set_yscale("log")
        title = f"{figure} against cores"
        note = "; ".join(CLOCK_NOTE[c] for c in sorted(clocks))
        ax.set_title(f"{title}\n{note}", fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        p = _save(plt, fig, out_dir, f"cores-{safe(figure)}")
        made.append(dict(p, title=title, clock=sorted(clocks), figure=figure))
    return made


def against_frames(plt, rows, out_dir):
    made = []
    for figure, frows in sorted(_by_figure(rows).items()):
        frames = {r["config"].get("frames") for r in frows} - {None}
        if len(frames) < 2:
            continue
        label_of = labeler(frows)
        agg = results.aggregate(frows, by=lambda r: (
            r["config"].get("policies", {}).get("pager", "(default pager)"),
            r["config"].get("frames"), label_of(r)))
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for pager, series in sorted({(k[0], k[2]) for k in agg}):
            pts = sorted((k[1], a) for k, a in agg.items()
                         if (k[0], k[2]) == (pager, series) and k[1] is not None)
            ax.errorbar([x for x, _ in pts], [a["median"] for _, a in pts],
                        yerr=[[a["median"] - a["min"] for _, a in pts],
                              [a["max"] - a["median"] for _, a in pts]],
                        marker="o", capsize=3, label=f"{pager}: {series}")
        ax.set_xlabel("frame budget")
        ax.set_ylabel(next(iter(agg.values()))["unit"] or "")
        title = f"{figure} against frame budget, per pager"
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        p = _save(plt, fig, out_dir, f"frames-{safe(figure)}")
        made.append(dict(p, title=title, clock=sorted({a["clock"] for a in agg.values()}),
                         figure=figure))
    return made


def is_share(data):
    """A CPU share: unit "share" (0..1) or "ppm", or a figure named *share*."""
    return data.get("unit") in ("share", "ppm") or "share" in str(data.get("figure"))


def shares(plt, rows, out_dir):
    srows = [r for r in rows if is_share(r["data"])]
    made = []
    for figure, frows in sorted(_by_figure(srows).items()):
        label_of = labeler(frows)
        agg = results.aggregate(frows, by=lambda r: (
            r["config"].get("policies", {}).get("sched", "(default scheduler)"),
            label_of(r)))
        scheds = sorted({k[0] for k in agg})
        series = sorted({k[1] for k in agg})
        fig, ax = plt.subplots(figsize=(7, 4.2))
        width = 0.8 / max(len(series), 1)
        for j, s in enumerate(series):
            xs = [i + j * width for i in range(len(scheds))]
            ax.bar(xs, [agg.get((sc, s), {}).get("median", 0) for sc in scheds], width,
                   label=s)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(scheds))], scheds)
        ax.set_ylabel(f"CPU share ({next(iter(agg.values()))['unit']})")
        title = f"{figure}: CPU shares per scheduler"
        clocks = sorted({a["clock"] for a in agg.values()})
        ax.set_title(f"{title}\n{'; '.join(CLOCK_NOTE[c] for c in clocks)}", fontsize=10)
        ax.legend(fontsize=7)
        p = _save(plt, fig, out_dir, f"shares-{safe(figure)}")
        made.append(dict(p, title=title, clock=clocks, figure=figure))
    return made


def percentiles(plt, rows, out_dir):
    made = []
    for figure, frows in sorted(_by_figure(rows).items()):
        keys = sorted({k for r in frows for k in r["data"] if PERCENTILE_RE.fullmatch(k)},
                      key=lambda k: float(k[1:]))
        if len(keys) < 2:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.2))
        by_ipc = {}
        for r in frows:
            ipc = r["config"].get("policies", {}).get("ipc", "(default ipc)")
            by_ipc.setdefault(ipc, []).append(r)
        for ipc, irows in sorted(by_ipc.items()):
            ys = []
            for k in keys:
                vals = sorted(r["data"][k] for r in irows if isinstance(r["data"].get(k),
                                                                       (int, float)))
                ys.append(vals[len(vals) // 2] if vals else float("nan"))
            ax.plot([float(k[1:]) for k in keys], ys, marker="o", label=ipc)
        ax.set_xlabel("percentile")
        ax.set_ylabel(frows[0]["data"].get("unit") or "")
        title = f"{figure}: latency percentiles per IPC policy"
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        p = _save(plt, fig, out_dir, f"percentiles-{safe(figure)}")
        made.append(dict(p, title=title, clock=sorted({results.clock(r["config"], r["data"])
                                                      for r in frows}), figure=figure))
    return made
