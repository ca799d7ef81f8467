"""Parse a guest's serial console log (the lines of docs/protocol.md).

The parser is lenient about what is not the kernel's: firmware banners,
terminal escape sequences, carriage returns, and a kernel line glued to the
end of a firmware line ("Booting from ROM..[cpu0] exocore: ...").
"""

import json
import re
from dataclasses import dataclass, field

# Terminal control sequences SeaBIOS writes to the serial port: CSI
# sequences (ESC [ ... final) and two-byte ones such as ESC c.
ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[0-~])")
TAG_RE = re.compile(r"\[cpu(\d+)\] ")
TEST_RE = re.compile(r"test: (RUN|PASS|FAIL|SKIP) ([^\s:]+)(?:: (.*))?$")
SUMMARY_RE = re.compile(r"(\d+) passed, (\d+) failed")
CORES_RE = re.compile(r"smp: (\d+) of (\d+) cores online")
PANIC_RE = re.compile(r"PANIC: (.*)$")
ENV_RE = re.compile(r"env (\d+): (.*)$")  # lines user programs print
EXOJSON_RE = re.compile(r"EXOJSON (.*)$")
PROGRAM_EXIT_RE = re.compile(r"run: (\S+) on cpu(\d+) exited with (-?\d+)$")  # run=NAME
NO_PROGRAM_RE = re.compile(r"run: no program '(.*)'$")
# More run_cores than cores online: older kernels ran on fewer, newer ones refuse.
CORES_SHORT_RE = re.compile(r"run: (?:\S+ on )?(\d+) cores asked,(?: but only)? (\d+)"
                            r" (?:are )?online")
EXIT_RE = re.compile(r"exit: (pass|fail|panic)$")  # the guest ends the run (docs/protocol.md)
CMDLINE_RE = re.compile(r"cmdline: (.*?)(?:; ignored)?$")  # a word the kernel did not take


@dataclass
class Figure:
    cpu: int
    data: dict


@dataclass
class TestLine:
    cpu: int
    kind: str  # RUN, PASS, FAIL or SKIP
    name: str  # suite.name
    detail: str  # the text after "name: ", or ""


@dataclass
class ProgramExit:
    """A program started by `run=NAME` ended: "run: NAME on cpuK exited with S"."""
    name: str
    cpu: int  # the core it ran on
    status: int


@dataclass
class TestOutcome:
    name: str
    status: str  # PASS, FAIL, SKIP, or UNFINISHED (RUN with no result)
    details: list = field(default_factory=list)  # FAIL/SKIP texts, in order


@dataclass
class GuestLog:
    lines: list = field(default_factory=list)  # the cleaned console lines
    tests: list = field(default_factory=list)  # TestLine, in order
    figures: list = field(default_factory=list)  # Figure, in order
    bad_figures: list = field(default_factory=list)  # EXOJSON lines that are not JSON objects
    summary: tuple = None  # (passed, failed) from the untagged summary line
    cores: tuple = None  # (online, total) from "smp: K of M cores online"
    panic: str = None  # the message of the first "PANIC:" line
    program_exits: list = field(default_factory=list)  # ProgramExit, in order
    exit: str = None  # "pass", "fail" or "panic" from the guest's own "exit:" line
    no_program: str = None  # NAME from "run: no program 'NAME'"
    cores_short: tuple = None  # (asked, online) from "run: N cores asked, K online"
    cmdline_problems: list = field(default_factory=list)  # "unknown key 'x'", ...

    def pass_lines(self):
        """How many "test: PASS" lines the guest printed."""
        return sum(1 for t in self.tests if t.kind == "PASS")

    def outcomes(self):
        """One TestOutcome per test, in first-seen order.

        A test with any FAIL line failed (the runner prints one per failed
        check and a closing one); a RUN with no PASS or FAIL is UNFINISHED.
        """
        byname = {}
        for t in self.tests:
            o = byname.setdefault(t.name, TestOutcome(t.name, "UNFINISHED"))
            if t.kind == "FAIL":
                o.status = "FAIL"
                o.details.append(t.detail)
            elif t.kind == "SKIP":
                o.status = "SKIP"
                o.details.append(t.detail)
            elif t.kind == "PASS" and o.status != "FAIL":
                o.status = "PASS"
        return list(byname.values())


def clean_line(raw):
    """Drop escape sequences and carriage returns from one console line."""
    return ANSI_RE.sub("", raw).replace("\r", "")


def split_tag(line):
    """Return (cpu, text) for a tagged kernel line, else (None, line).

    The tag may follow firmware text that had no newline before it.
    """
    m = TAG_RE.search(line)
    if not m:
        return None, line
    return int(m.group(1)), line[m.end():]


def parse_log(text):
    """Parse a whole console log (str) into a GuestLog."""
    log = GuestLog()
    for raw in text.split("\n"):
        line = clean_line(raw)
        log.lines.append(line)
        cpu, body = split_tag(line)
        if cpu is None:
            m = SUMMARY_RE.fullmatch(line.strip())
            if m:
                log.summary = (int(m.group(1)), int(m.group(2)))
            continue
        parse_tagged(log, cpu, body)
    if log.lines and log.lines[-1] == "":
        log.lines.pop()
    return log


def parse_tagged(log, cpu, body):
    """Record one tagged kernel line's meaning, if it has one."""
    m = TEST_RE.match(body)
    if m:
        log.tests.append(TestLine(cpu, m.group(1), m.group(2), m.group(3) or ""))
        return
    m = EXOJSON_RE.match(body)
    if m:
        add_figure(log, cpu, m.group(1))
        return
    # A program's figure: "env K: EXOJSON {...}" (its other lines mean nothing to us).
    m = ENV_RE.match(body)
    if m:
        em = EXOJSON_RE.match(m.group(2))
        if em:
            add_figure(log, cpu, em.group(1), env=int(m.group(1)))
        return
    m = PROGRAM_EXIT_RE.match(body)
    if m:
        log.program_exits.append(ProgramExit(m.group(1), int(m.group(2)), int(m.group(3))))
        return
    m = EXIT_RE.match(body)
    if m:
        log.exit = log.exit or m.group(1)
        return
    m = NO_PROGRAM_RE.match(body)
    if m:
        log.no_program = m.group(1)
        return
    m = CORES_SHORT_RE.match(body)
    if m:
        log.cores_short = (int(m.group(1)), int(m.group(2)))
        return
    # The boot-time parse comes before the cores line; later cmdline lines
    # are the guest tests of the parser talking about their own samples.
    m = CMDLINE_RE.match(body)
    if m and log.cores is None:
        log.cmdline_problems.append(m.group(1))
        return
    m = CORES_RE.match(body)
    if m:
        log.cores = (int(m.group(1)), int(m.group(2)))
        return
    m = PANIC_RE.match(body)
    if m and log.panic is None:
        log.panic = m.group(1)


def add_figure(log, cpu, text, env=None):
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        if env is not None:
            data.setdefault("env", env)
        log.figures.append(Figure(cpu, data))
    else:
        log.bad_figures.append(text)
