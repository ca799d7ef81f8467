"""Judge a finished QEMU run (docs/protocol.md, "Exit").

The guest prints "exit: pass|fail|panic", then writes v to isa-debug-exit and
QEMU exits with (v << 1) | 1. QEMU's status alone proves nothing (QEMU exits
with 1, the guest's "pass", when it refuses its own command line), so a
verdict needs both: the status and the guest's exit line that agrees with it.
Anything else is "no verdict".
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
    selection: str = None  # test=PATTERN of a selection run: it must select some test


def guest_verdict(outcome, log):
    """The guest's verdict, or None: QEMU's status must name one and the guest
    must have said the same with its exit line (a panic's PANIC line will do)."""
    if outcome.timed_out:
        return None
    v = GUEST_VERDICTS.get(outcome.status)
    if v is None:
        return None
    if log.exit == v or (v == "panic" and log.panic is not None):
        return v
    return None


def first_words(log):
    """The first non-blank console line (QEMU's own refusal, when it refused)."""
    for line in log.lines:
        if line.strip():
            return line.strip()[:160]
    return None


def no_verdict_reason(outcome, log):
    """Say why a run that the guest did not end has no verdict."""
    if outcome.timed_out:
        return f"timeout after {outcome.timeout:g} s"
    s = outcome.status
    if s < 0:
        return f"no verdict: QEMU was killed by signal {-s}"
    if s in GUEST_VERDICTS:
        said = f"; the guest said exit: {log.exit}" if log.exit else \
            "; the guest printed no 'exit:' line, so the guest did not end this run"
        first = first_words(log)
        return (f"no verdict: QEMU exited with status {s}{said}"
                + (f" (first output: {first})" if first else " (no output)"))
    hint = " (with -no-reboot this is a triple fault or a reset)" if s == 0 else ""
    return f"no verdict: QEMU exited with status {s}{hint}"


def run_reason(outcome, log, programs=None):
    """For `exo run`: None on success, else a one-line reason. programs: the
    names of the programs the kernel holds, to list for `run: no program`."""
    verdict = guest_verdict(outcome, log)
    if verdict == "pass":
        problems = request_problems(log)
        return "; ".join(problems) if problems else None
    if verdict == "fail":
        if log.no_program is not None:
            return no_program_reason(log.no_program, programs)
        if log.cores_short:
            return "run_cores={} but only {} core(s) online".format(*log.cores_short)
        failed = [o.name for o in log.outcomes() if o.status in ("FAIL", "UNFINISHED")]
        failed += [f"{p.name} on cpu{p.cpu} exited with {p.status}"
                   for p in log.program_exits if p.status != 0]
        return "test failed" + (f": {', '.join(failed)}" if failed else "")
    if verdict == "panic":
        return f"panic: {log.panic}" if log.panic else "panic (no PANIC line in the log)"
    return no_verdict_reason(outcome, log)


def no_program_reason(name, programs):
    known = f"; programs: {', '.join(programs)}" if programs else ""
    return f"no program {name!r} in the kernel{known}"


def request_problems(log):
    """What the guest did not do as asked although it passed: words of the
    command line it ignored, fewer cores than run_cores."""
    problems = [f"the kernel ignored a command-line word: {p}" for p in log.cmdline_problems]
    if log.cores_short:
        asked, online = log.cores_short
        problems.append(f"run_cores={asked} but only {online} core(s) online")
    return problems


def judge(expect, outcome, log):
    """For a manifest run: the list of reasons it failed (empty: it passed)."""
    problems = []
    verdict = guest_verdict(outcome, log)
    if verdict is None:
        problems.append(no_verdict_reason(outcome, log))
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
    if expect.verdict == "pass" and expect.selection and not log.tests:
        problems.append(f"the selection {expect.selection!r} matched no guest test"
                        " (tools/exo test --list lists them)")
    if log.no_program is not None:
        problems.append(no_program_reason(log.no_program, None))
    if log.cores_short and expect.verdict == "pass":
        problems += request_problems(log)[-1:]
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
