"""Compare two sweep runs (two commits, two policy sets): the ratio B/A of
every figure both measured at the same variant and core count, flagged when
the change is larger than the min-max spread (B's median outside A's
min..max and A's median outside B's min..max).

Figures are matched by (variant, cores, series), so a policy set compared
with another pairs nothing unless the variant names agree; give --by-cores
to match on cores and series only (one variant per run).
"""

from dataclasses import dataclass

from . import results


@dataclass
class Row:
    series: str
    variant: str
    cores: int
    a: dict
    b: dict

    @property
    def ratio(self):
        return self.b["median"] / self.a["median"] if self.a["median"] else None

    @property
    def flagged(self):
        return (not self.a["min"] <= self.b["median"] <= self.a["max"]
                and not self.b["min"] <= self.a["median"] <= self.b["max"])


def compare(rows_a, rows_b, by_cores=False):
    """(matched Rows, keys only in A, keys only in B)."""
    def key(r):
        c = r["config"]
        s = results.series_id(r["data"], c)
        return ("", c["cores"], s) if by_cores else (results.variant(c), c["cores"], s)
    a = results.aggregate(rows_a, by=key)
    b = results.aggregate(rows_b, by=key)
    both = sorted(set(a) & set(b), key=lambda k: (k[2], k[0], k[1]))
    matched = [Row(k[2], k[0], k[1], a[k], b[k]) for k in both]
    return matched, sorted(set(a) - set(b)), sorted(set(b) - set(a))


def table(matched):
    """Lines of text: the ratio table, flagged rows marked with '!'."""
    head = f"{'figure':40} {'variant':24} {'cores':>5} {'A median':>12} {'B median':>12}" \
           f" {'B/A':>7}  spread A / B"
    out = [head]
    for r in matched:
        ratio = f"{r.ratio:.3f}" if r.ratio is not None else "-"
        mark = " !" if r.flagged else ""
        out.append(f"{r.series[:40]:40} {r.variant[:24]:24} {r.cores:>5}"
                   f" {_n(r.a['median']):>12} {_n(r.b['median']):>12} {ratio:>7}"
                   f"  {_n(r.a['min'])}..{_n(r.a['max'])} / {_n(r.b['min'])}..{_n(r.b['max'])}"
                   f"{mark}")
    return out


def _n(x):
    return f"{x:.4g}" if isinstance(x, float) else str(x)
