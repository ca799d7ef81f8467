"""What `exo test` prints for one finished run: a line per guest test, a line
for the run itself, and on failure the end of the log."""

from dataclasses import dataclass, field

from . import verdict

TAIL_LINES = 30
TAIL_PREFIX = "  | "  # keeps the guest's own summary line from looking like ours


@dataclass
class RunReport:
    lines: list = field(default_factory=list)
    passed: int = 0
    failed: int = 0


def failure_detail(outcome):
    if outcome.status == "UNFINISHED":
        return "started but never finished"
    more = len(outcome.details) - 1
    return outcome.details[0] + (f" (+{more} more in the log)" if more > 0 else "")


def guest_lines(run, log, rep):
    """One line per guest test. In a run expected to fail or panic, failed
    tests are expected: they print as XFAIL and are not counted."""
    expected_failures = run.expect.verdict != "pass"
    for o in log.outcomes():
        if o.status == "PASS":
            rep.lines.append(f"PASS {run.name}: {o.name}")
            rep.passed += 1
        elif o.status == "SKIP":
            rep.lines.append(f"SKIP {run.name}: {o.name}: {o.details[0]}")
        elif expected_failures:
            rep.lines.append(f"XFAIL {run.name}: {o.name}: {failure_detail(o)}")
        else:
            rep.lines.append(f"FAIL {run.name}: {o.name}: {failure_detail(o)}")
            rep.failed += 1


def run_facts(run, outcome, log, accel):
    """The parenthesised facts of a run line: (4/4 cores, 3.2 s, tcg)."""
    facts = []
    if run.expect.verdict != "pass":
        facts.append(f"expect {run.expect.verdict}")
    if run.expect.cores is not None:
        online = log.cores[0] if log.cores else "?"
        facts.append(f"{online}/{run.expect.cores} cores")
    elif log.cores:
        facts.append(f"{log.cores[0]}/{log.cores[1]} cores")
    facts += [f"{outcome.elapsed:.1f} s", accel]
    return ", ".join(facts)


def report(run, outcome, log, accel, log_path):
    """The RunReport of one finished run; the run line counts as one test."""
    rep = RunReport()
    guest_lines(run, log, rep)
    problems = verdict.judge(run.expect, outcome, log)
    facts = run_facts(run, outcome, log, accel)
    if not problems:
        rep.lines.append(f"PASS run {run.name} ({facts})")
        rep.passed += 1
        return rep
    rep.lines.append(f"FAIL run {run.name} ({facts}): {'; '.join(problems)}")
    rep.failed += 1
    tail = log.lines[-TAIL_LINES:]
    rep.lines.append(f"  last {len(tail)} lines of {log_path}:")
    rep.lines += [TAIL_PREFIX + l for l in tail]
    return rep
