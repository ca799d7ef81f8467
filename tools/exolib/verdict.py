"""Judge a finished QEMU run (docs/protocol.md, "Exit").

The guest writes v to isa-debug-exit and QEMU exits with (v << 1) | 1, so
QEMU's status names the guest's verdict. Anything else is "no verdict".
"""

import re
from dataclasses import dataclass

# QEMU exit status -> the guest's verdict.
GUEST_VERDICTS = {1: "pass", 3: "fail", 5: "panic"}
EXPECTS = ("pass", "fail", "panic")
MAX_CORES = 64  # the kernel's MAX_CPUS


@dataclass
class Outcome:
    """How a QEMU process ended."""
    status: int  # QEMU's exit status; negative: killed by that signal
    timed_out: bool
    timeout: float  # seconds allowed (0: none)
    elapsed: float  # seconds


@dataclass
class Expect:
    """What a run must show to pass (one manifest section)."""
    verdict: str = "pass"  # one of EXPECTS
    output: tuple = ()  # regexes that must each match somewhere (re.M)
    cores: int = None  # online cores the guest must report; None: no check
    summary: bool = True  # the run selects guest tests: a pass needs their summary line
    program: tuple = None  # (NAME, cores) for `run=NAME`: each core's copy must exit with 0


def guest_verdict(status):
    """The guest's verdict for a QEMU exit status, or None."""
    return GUEST_VERDICTS.get(status)


def no_verdict_reason(outcome):
    """Say why a run that the guest did not end has no verdict."""
    if outcome.timed_out:
        return f"timeout after {outcome.timeout:g} s"
    s = outcome.status
    if s < 0:
        return f"no verdict: QEMU was killed by signal {-s}"
    hint = " (with -no-reboot this is a triple fault or a reset)" if s == 0 else ""
    return f"no verdict: QEMU exited with status {s}{hint}"


def run_reason(outcome, log):
    """For `exo run`: None on success, else a one-line reason."""
    verdict = None if outcome.timed_out else guest_verdict(outcome.status)
    if verdict == "pass":
        return None
    if verdict == "fail":
        failed = [o.name for o in log.outcomes() if o.status in ("FAIL", "UNFINISHED")]
        failed += [f"{p.name} on cpu{p.cpu} exited with {p.status}"
                   for p in log.program_exits if p.status != 0]
        return "test failed" + (f": {', '.join(failed)}" if failed else "")
    if verdict == "panic":
        return f"panic: {log.panic}" if log.panic else "panic (no PANIC line in the log)"
    return no_verdict_reason(outcome)


def judge(expect, outcome, log):
    """For a manifest run: the list of reasons it failed (empty: it passed)."""
    problems = []
    verdict = None if outcome.timed_out else guest_verdict(outcome.status)
    if verdict is None:
        problems.append(no_verdict_reason(outcome))
    elif verdict != expect.verdict:
        detail = f": {log.panic}" if verdict == "panic" and log.panic else ""
        problems.append(f"expected the guest verdict {expect.verdict}, got {verdict}"
                        f" (QEMU status {outcome.status}){detail}")
    text = "\n".join(log.lines)
    for rx in expect.output:
        if not re.search(rx, text, re.M):
            problems.append(f"expected output /{rx}/ not found")
    if expect.verdict == "pass" and expect.summary:
        problems += summary_problems(log)
    if expect.verdict == "pass" and expect.program:
        problems += program_problems(*expect.program, log)
    if expect.cores is not None:
        problems += cores_problems(expect.cores, log)
    if log.bad_figures:
        problems.append(f"{len(log.bad_figures)} EXOJSON line(s) are not a JSON object,"
                        f" first: {log.bad_figures[0][:80]}")
    return problems


def summary_problems(log):
    """Check the summary line against the test lines of a run meant to pass."""
    if log.summary is None:
        return ["no summary line 'N passed, N failed' in the log"]
    passed, failed = log.summary
    problems = []
    if failed:
        problems.append(f"the guest's summary reports {failed} failed")
    if log.pass_lines() != passed:
        problems.append(f"the guest's summary says {passed} passed"
                        f" but it printed {log.pass_lines()} 'test: PASS' lines")
    return problems


def program_problems(name, cores, log):
    """A run=NAME on cores 0..cores-1 passes when every copy exited with 0."""
    exits = {p.cpu: p.status for p in log.program_exits if p.name == name}
    problems = []
    for cpu in range(cores):
        if cpu not in exits:
            problems.append(f"no 'run: {name} on cpu{cpu} exited with ...' line in the log")
        elif exits[cpu] != 0:
            problems.append(f"{name} on cpu{cpu} exited with {exits[cpu]}")
    return problems


def cores_problems(expected, log):
    if log.cores is None:
        return ["no 'smp: K of M cores online' line in the log"]
    online, total = log.cores
    if online != expected:
        return [f"{online} of {total} cores online, expected {expected}"]
    return []


def default_cores(smp):
    """How many cores a guest started with -smp smp must bring online."""
    return min(smp, MAX_CORES)
