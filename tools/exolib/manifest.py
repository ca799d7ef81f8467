"""The guest test manifest (tests/guest/manifest.cfg), in the manner of
kvm-unit-tests' unittests.cfg: an INI file, one section per QEMU run.

    [smp4]
    smp = 4
    args = test=all          ; kernel command line
    timeout = 240            ; seconds
    mem = 512M               ; optional
    expect = pass            ; pass (default) | fail | panic
    expect_output = regex    ; optional; one regex per line, each must match (re.M)
    cores = 4                ; optional; default min(smp, 64)
    slow = yes               ; optional; run only with exo test --slow
    disk = 16M               ; optional; a blank virtio disk of this size, made fresh per run

A pass needs the guest tests' summary line when args select tests (test=)
or run no program; with run=NAME, every copy of NAME (cores 0..run_cores-1)
must report "exited with 0".
"""

import configparser
import fnmatch
import re
from dataclasses import dataclass

from . import verdict

KEYS = {"smp", "args", "timeout", "mem", "expect", "expect_output", "cores", "slow", "icount",
        "disk"}
DEFAULT_TIMEOUT = 120
DEFAULT_MEM = "512M"
MEM_RE = re.compile(r"\d+[KMGT]?")


class ManifestError(Exception):
    pass


@dataclass
class Run:
    """One QEMU run of the guest suite."""
    name: str
    smp: int = 1
    args: str = ""
    timeout: float = DEFAULT_TIMEOUT
    mem: str = DEFAULT_MEM
    expect: verdict.Expect = None
    slow: bool = False
    icount: bool = False  # deterministic instruction counting (TCG only)
    disk: str = None  # a blank disk of this size (e.g. "16M"), made fresh for each boot


def load(path):
    """Read a manifest file into a list of Run, in file order."""
    cp = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    try:
        with open(path, encoding="utf-8") as f:
            cp.read_file(f)
    except OSError as e:
        raise ManifestError(f"cannot read the manifest {path}: {e.strerror}") from e
    except configparser.Error as e:
        raise ManifestError(f"{path}: {e}") from e
    return [section_run(path, name, cp[name]) for name in cp.sections()]


def section_run(path, name, sec):
    where = f"{path} [{name}]"
    unknown = sorted(set(sec.keys()) - KEYS)
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(unknown)};"
                            f" known: {', '.join(sorted(KEYS))}")
    smp = positive_int(where, sec, "smp", 1)
    expect = sec.get("expect", "pass")
    if expect not in verdict.EXPECTS:
        raise ManifestError(f"{where}: expect = {expect!r}; want one of"
                            f" {', '.join(verdict.EXPECTS)}")
    mem = sec.get("mem", DEFAULT_MEM)
    if not MEM_RE.fullmatch(mem):
        raise ManifestError(f"{where}: mem = {mem!r}; want a size such as 512M")
    disk = sec.get("disk")
    if disk is not None and not MEM_RE.fullmatch(disk):
        raise ManifestError(f"{where}: disk = {disk!r}; want a size such as 16M")
    cores = positive_int(where, sec, "cores", verdict.default_cores(smp))
    args = sec.get("args", "")
    words = dict(w.split("=", 1) for w in args.split() if "=" in w)
    return Run(name=name, smp=smp, args=args, mem=mem,
               timeout=positive_number(where, sec, "timeout", DEFAULT_TIMEOUT),
               expect=verdict.Expect(expect, output_regexes(where, sec),
                                     cores if expect == "pass" or "cores" in sec else None,
                                     summary="test" in words or "run" not in words,
                                     program=program_of(where, words, cores)),
               slow=boolean(where, sec, "slow"), icount=boolean(where, sec, "icount"), disk=disk)


def program_of(where, words, cores):
    """(NAME, copies) for args with run=NAME: the kernel starts one copy on each
    of cores 0..run_cores-1 (at most the cores online); None without run=."""
    if "run" not in words:
        return None
    text = words.get("run_cores", "1")
    if not text.isdigit() or int(text) < 1:
        raise ManifestError(f"{where}: args: run_cores={text!r}; want a whole number of at least 1")
    return (words["run"], min(int(text), cores))


def positive_int(where, sec, key, default):
    text = sec.get(key, str(default))
    if not text.isdigit() or int(text) < 1:
        raise ManifestError(f"{where}: {key} = {text!r}; want a whole number of at least 1")
    return int(text)


def positive_number(where, sec, key, default):
    text = sec.get(key, str(default))
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ManifestError(f"{where}: {key} = {text!r}; want a number of seconds above 0")
    return value


def boolean(where, sec, key):
    try:
        return sec.getboolean(key, False)
    except ValueError as e:
        raise ManifestError(f"{where}: {key} = {sec.get(key)!r}; want yes or no") from e


def output_regexes(where, sec):
    """expect_output holds one regex per line (continuation lines are indented)."""
    regexes = tuple(l.strip() for l in sec.get("expect_output", "").splitlines() if l.strip())
    for rx in regexes:
        try:
            re.compile(rx, re.M)
        except re.error as e:
            raise ManifestError(f"{where}: expect_output /{rx}/ is not a regex: {e}") from e
    return regexes


def select(runs, pattern, slow):
    """Split the runs whose names match the glob pattern (all if None) into
    (to_run, skipped_as_slow)."""
    chosen = [r for r in runs if pattern is None or fnmatch.fnmatchcase(r.name, pattern)]
    return ([r for r in chosen if slow or not r.slow],
            [r for r in chosen if r.slow and not slow])


def selection_runs(pattern, smps, timeout):
    """Runs for a test selection (`exo test boot.*`): test=pattern at each smp."""
    return [Run(name=f"{pattern}@smp{n}", smp=n, args=f"test={pattern}",
                timeout=timeout or selection_timeout(n),
                expect=verdict.Expect(cores=verdict.default_cores(n), selection=pattern))
            for n in smps]


def selection_timeout(smp):
    """TCG slows down with every core it emulates on a small host."""
    return 60 + 30 * smp
