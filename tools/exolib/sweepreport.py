"""A sweep run's report: <run>/report/report.md and report.html (one
self-contained file: plots inlined as PNG data, SVGs beside it), with the
figure tables, the plots, every point's status and the provenance. Derived
from the run's files (through the index); writing it again loses nothing.

A banner marks every table and plot whose numbers are TCG wall-clock (the
emulator's host time in guest "cycles") rather than cycles or -icount
instructions.

The seam for Linux columns (tools/exolib/baseline.py, to come):
figure_table(agg, counterpart) takes the aggregated figures and an optional
{(variant, cores, series): {"median": ...}} of counterpart values, and adds a
Linux column and the ratio wherever a counterpart exists.
"""

import base64
import html
import json
import os

from . import plot, results

TCG_BANNER = ("TCG: these numbers are emulator wall-clock (host time read through the"
              " guest's TSC), not CPU cycles or instructions. Only ratios within one run"
              " mean anything; use -icount for path lengths or KVM for cycles.")


def figure_table(agg, counterpart=None):
    """Rows (list of lists, header first) of the aggregated figures; with
    counterpart, a "Linux" and a "ratio" column (ours / theirs)."""
    header = ["figure", "variant", "cores", "median", "min", "max", "n", "reps", "clock"]
    if counterpart is not None:
        header += ["Linux", "ratio"]
    rows = [header]
    for (var, cores, series), a in sorted(agg.items(), key=lambda kv: (kv[0][2], kv[0][0],
                                                                        kv[0][1])):
        row = [series, var, cores, fmt(a["median"]), fmt(a["min"]), fmt(a["max"]), a["n"],
               a["reps"], a["clock"] + (f" ({a['unit']})" if a["unit"] else "")]
        if counterpart is not None:
            other = counterpart.get((var, cores, series))
            theirs = other.get("median") if other else None
            row += [fmt(theirs) + (f" ({other['linux']})" if other.get("linux") else "")
                    if theirs is not None
                    else "no counterpart",
                    f"{a['median'] / theirs:.2f}" if theirs else ""]
        rows.append(row)
    return rows


def fmt(x):
    if isinstance(x, float):
        return f"{x:.3f}".rstrip("0").rstrip(".") if abs(x) < 1000 else f"{x:.0f}"
    return "" if x is None else str(x)


def provenance(meta):
    keys = ["sweep", "run_id", "status", "commit", "dirty", "kernel", "kernel_sha256", "mode",
            "qemu", "accel", "icount", "seeds", "host", "cpu_model", "host_cpus",
            "load_at_start", "load_at_end", "started", "finished", "wall_s", "spec_path",
            "spec_digest", "points", "ok", "failed", "not_run"]
    return [[k, json.dumps(meta.get(k)) if isinstance(meta.get(k), (list, dict, bool))
             or meta.get(k) is None else str(meta.get(k))] for k in keys]


def point_rows(res):
    rows = [["point", "status", "seconds", "first figure (s)", "reason", "log"]]
    for r in res:
        rows.append([r["label"], r["status"], fmt(r.get("elapsed_s")),
                     fmt(r.get("first_figure_s")), r.get("reason") or "", r.get("log", "")])
    return rows


def md_table(rows):
    esc = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    out = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(esc[0])]
    out += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(out)


def html_table(rows):
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write(run, rows, counterpart=None):
    """Write the report for run (a RunDir) from its figure rows; return the
    paths {"md", "html", "plots": [...]}."""
    meta = run.meta()
    res = run.results()
    out = run.file("report")
    plots = plot.plot_run(rows, os.path.join(out, "plots"))
    by_figure = {}
    for r in rows:
        by_figure.setdefault(r["data"].get("figure"), []).append(r)
    sections = []
    for figure, frows in sorted(by_figure.items()):
        agg = results.aggregate(frows)
        tcg = any(a["clock"] == "tcg" for a in agg.values())
        cp = counterpart(agg) if callable(counterpart) else counterpart
        sections.append((figure, tcg, figure_table(agg, cp),
                         [p for p in plots if p["figure"] == figure]))
    any_tcg = any(s[1] for s in sections)
    title = f"Sweep {meta.get('sweep')}: {meta.get('run_id')}"
    md = [f"# {title}", ""]
    if any_tcg:
        md += [f"> **{TCG_BANNER}**", ""]
    md += [f"{meta.get('ok')} points ok, {meta.get('failed')} failed,"
           f" {meta.get('not_run')} not run; commit {meta.get('commit')}, QEMU"
           f" {meta.get('qemu')}, {meta.get('accel')}.", ""]
    for figure, tcg, table, fplots in sections:
        md += [f"## {figure}", ""]
        if tcg:
            md += [f"> **TCG wall-clock** — {TCG_BANNER}", ""]
        for p in fplots:
            md += [f"![{p['title']}](plots/{os.path.basename(p['png'])})"
                   f" ([SVG](plots/{os.path.basename(p['svg'])}))", ""]
        md += [md_table(table), ""]
    md += ["## Points", "", md_table(point_rows(res)), "",
           "## Provenance", "", md_table([["field", "value"]] + provenance(meta)), "",
           "Kernel command lines:", ""] + [f"    {c}" for c in meta.get("cmdlines", [])] + [
           "", "The spec:", "", "```toml", meta.get("spec_text", "").rstrip(), "```", ""]
    md_path = os.path.join(out, "report.md")
    results.write_atomic(md_path, "\n".join(md))
    html_path = os.path.join(out, "report.html")
    results.write_atomic(html_path, render_html(title, meta, res, sections, any_tcg))
    return {"md": md_path, "html": html_path, "plots": plots}


STYLE = """body{font:14px/1.4 sans-serif;margin:2em;max-width:72em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;padding:2px 6px;
font-size:12px;text-align:left}th{background:#eee}.tcg{background:#fff3cd;border:2px solid #d39e00;
padding:.6em;margin:.6em 0;font-weight:bold}img{max-width:100%;border:1px solid #ddd}
pre{background:#f6f6f6;padding:.6em;overflow:auto}"""

# Marks the body with how many plots loaded, so a headless browser can tell.
CHECK_SCRIPT = """window.addEventListener('load',function(){var im=document.images,ok=0;
for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}
document.body.setAttribute('data-plots',ok+'/'+im.length);});"""


def render_html(title, meta, res, sections, any_tcg):
    h = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
         f"</title><style>{STYLE}</style><script>{CHECK_SCRIPT}</script></head><body>",
         f"<h1>{html.escape(title)}</h1>"]
    if any_tcg:
        h.append(f"<div class='tcg'>{html.escape(TCG_BANNER)}</div>")
    h.append(f"<p>{meta.get('ok')} points ok, {meta.get('failed')} failed,"
             f" {meta.get('not_run')} not run; commit {html.escape(str(meta.get('commit')))},"
             f" QEMU {html.escape(str(meta.get('qemu')))}, {html.escape(str(meta.get('accel')))}"
             "</p>")
    for figure, tcg, table, fplots in sections:
        h.append(f"<h2>{html.escape(str(figure))}</h2>")
        if tcg:
            h.append(f"<div class='tcg'>TCG wall-clock — {html.escape(TCG_BANNER)}</div>")
        for p in fplots:
            with open(p["png"], "rb") as f:
                data = base64.b64encode(f.read()).decode()
            h.append(f"<p><img alt='{html.escape(p['title'])}' src='data:image/png;base64,"
                     f"{data}'><br><a href='plots/{os.path.basename(p['svg'])}'>SVG</a></p>")
        h.append(html_table(table))
    h += ["<h2>Points</h2>", html_table(point_rows(res)), "<h2>Provenance</h2>",
          html_table([["field", "value"]] + provenance(meta)),
          "<p>Kernel command lines:</p><pre>"
          + html.escape("\n".join(meta.get("cmdlines", []))) + "</pre>",
          "<p>The spec:</p><pre>" + html.escape(meta.get("spec_text", "")) + "</pre>",
          "</body></html>"]
    return "\n".join(h)
