"""Check a kernel command line against the build before booting it: a run
must never quietly do something other than what was asked.

    run=NAME          NAME must be a built program (build/<mode>/user/NAME.elf)
    run_cores=N       N must not exceed the cores the machine has
    sched= pager= ipc=  must come with run= and name a built policy and only its
                      parameters (build/<mode>/policies.json; an error when there is none)
"""

from . import catalog

FROM_BUILD = object()  # look in build/<mode>


def words(args):
    """{key: value} of the key=value words of a kernel command line (last wins)."""
    out = {}
    for w in args.split():
        key, eq, value = w.partition("=")
        if eq:
            out[key] = value
    return out


def problems(args, smp, top, mode, known_policies=FROM_BUILD, known_programs=FROM_BUILD):
    """Why the command line args cannot run as asked on smp cores; [] if it can.

    known_policies/known_programs default to what build/<mode> holds."""
    w = words(args)
    found = []
    if "run" in w:
        progs = catalog.programs(top, mode) if known_programs is FROM_BUILD else known_programs
        if progs and w["run"] not in progs:
            found.append(f"no program {w['run']!r} in build/{mode}/user;"
                         f" programs: {', '.join(progs)}")
    if "run_cores" in w:
        text = w["run_cores"]
        if not text.isdigit() or int(text) < 1:
            found.append(f"run_cores={text}: want a whole number of at least 1")
        elif int(text) > smp:
            found.append(f"run_cores={text} needs {text} cores; the machine has {smp}"
                         " (raise --smp)")
        if "run" not in w:
            found.append("run_cores without run=PROGRAM")
    kinds = [k for k in catalog.POLICY_KINDS if k in w]
    if kinds and "run" not in w:
        found.append(f"{kinds[0]}={w[kinds[0]]}: a policy is a program's argument; without"
                     " run=PROGRAM the kernel would ignore it")
    if kinds:
        known = catalog.policies(top, mode) if known_policies is FROM_BUILD else known_policies
        for k in kinds:
            p = catalog.policy_problem(k, w[k], known, mode)
            if p:
                found.append(p)
    return found
