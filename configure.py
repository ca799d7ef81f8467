#!/usr/bin/env python3
"""Configure exocore: check the toolchain, optionally install it, write build.ninja.

    ./configure.py                 check tools, write build.ninja (all modes)
    ./configure.py --install-deps  apt-get install what is missing (as root), then configure

Modes, each building into build/<mode>/:
    debug     kernel (-O1 -g) and host tests (-O0 -g); the default target
    release   kernel and host tests at -O2
    sanitize  host tests under ASan + UBSan
    fuzz      libFuzzer targets in fuzz/ (ninja fuzz)
    coverage  host tests with llvm source coverage (ninja coverage-report writes the
              report); the capability fuzzer to replay its corpus (ninja fuzz-coverage)

Python standard library only; runs under any Python 3.9+.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.abspath(__file__))

# Every tool the project uses, the Debian package that has it, and whether a
# build is impossible without it (the rest are needed by `ninja check` or reports).
TOOLS = [
    ("clang", "clang", True),
    ("ld.lld", "lld", True),
    ("ninja", "ninja-build", True),
    ("llvm-nm", "llvm", True),
    ("llvm-profdata", "llvm", False),
    ("llvm-cov", "llvm", False),
    ("llvm-symbolizer", "llvm", False),
    ("qemu-system-x86_64", "qemu-system-x86", False),
    ("spin", "spin", False),
    ("clang-format", "clang-format", False),  # tools/check-style
    ("clang-tidy", "clang-tidy", False),  # tools/check-tidy
]
# Sweeps (docs/sweeps.md): the progress bar, the report's headless-browser
# test, the Slurm executor's single-node test cluster.
SWEEP_PACKAGES = ["python3-tqdm", "chromium", "slurm-wlm", "munge"]
# Sanitizer and libFuzzer runtimes for clang 14 (not pulled in by `clang` itself).
RUNTIME_PACKAGE = "libclang-rt-14-dev"
# `tools/exo baseline`: Debian's Linux kernel (/boot/vmlinuz-*) and glibc's
# libc.a for the static benchmark that is its /init (baseline/README.md).
BASELINE_PACKAGES = {"linux-image-amd64", "libc6-dev"}
SYSTEM_PYTHON = "/usr/bin/python3"
MODES = ["debug", "release", "sanitize", "fuzz", "coverage"]
PLANT_COUNT = 10  # planted bugs 1..9 (core/include/exo/plant.h)
# Plants in one file, found by one fuzzer: only that file is rebuilt for
# them, and only that fuzzer linked (build/fuzz/plant-N/NAME).
PLANT_ONLY = {7: ("core/bpf.c", "bpf_fuzz"), 8: ("core/bpf.c", "bpf_fuzz"),
              9: ("core/bpf.c", "bpf_fuzz")}
SMOKE_PLANT = 1  # the planted bug `ninja check` makes the fuzzer find
SMOKE_BPF_PLANT = 8  # and the verifier's one it makes bpf_fuzz find


# --------------------------------------------------------------------------
# A small ninja file writer (in the manner of ninja's own misc/ninja_syntax.py,
# written for this project).

def ninja_escape_path(word):
    return word.replace("$ ", "$$ ").replace(" ", "$ ").replace(":", "$:")


class NinjaWriter:
    def __init__(self, out):
        self.out = out

    def comment(self, text):
        for line in text.splitlines():
            self.out.write("# " + line + "\n")

    def newline(self):
        self.out.write("\n")

    def variable(self, key, value, indent=0):
        if isinstance(value, (list, tuple)):
            value = " ".join(v for v in value if v)
        self.out.write("  " * indent + f"{key} = {value}\n")

    def pool(self, name, depth):
        self.out.write(f"pool {name}\n")
        self.variable("depth", depth, indent=1)

    def rule(self, name, command, description=None, depfile=None, deps=None,
             generator=False, pool=None, restat=False):
        self.out.write(f"rule {name}\n")
        self.variable("command", command, indent=1)
        if description:
            self.variable("description", description, indent=1)
        if depfile:
            self.variable("depfile", depfile, indent=1)
        if deps:
            self.variable("deps", deps, indent=1)
        if generator:
            self.variable("generator", "1", indent=1)
        if pool:
            self.variable("pool", pool, indent=1)
        if restat:
            self.variable("restat", "1", indent=1)

    def build(self, outputs, rule, inputs=(), implicit=(), order_only=(),
              variables=None, implicit_outputs=()):
        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        line = "build " + " ".join(map(ninja_escape_path, outputs))
        if implicit_outputs:
            line += " | " + " ".join(map(ninja_escape_path, implicit_outputs))
        line += ": " + rule
        if inputs:
            line += " " + " ".join(map(ninja_escape_path, inputs))
        if implicit:
            line += " | " + " ".join(map(ninja_escape_path, implicit))
        if order_only:
            line += " || " + " ".join(map(ninja_escape_path, order_only))
        self.out.write(line + "\n")
        for key, value in (variables or {}).items():
            self.variable(key, value, indent=1)
        return outputs

    def default(self, paths):
        self.out.write("default " + " ".join(paths) + "\n")


# --------------------------------------------------------------------------
# Toolchain checks

def missing_tools():
    """[(tool, package, required)] for every tool not on PATH, plus the
    runtime package and matplotlib when absent."""
    missing = [(t, p, r) for t, p, r in TOOLS if shutil.which(t) is None]
    if shutil.which("clang") and not clang_has_runtimes():
        missing.append(("clang sanitizer/libFuzzer runtimes", RUNTIME_PACKAGE, False))
    if not os.path.exists(SYSTEM_PYTHON) or subprocess.run(
            [SYSTEM_PYTHON, "-c", "import matplotlib"], capture_output=True).returncode != 0:
        missing.append((f"matplotlib for {SYSTEM_PYTHON}", "python3-matplotlib", False))
    return missing


def clang_has_runtimes():
    out = subprocess.run(["clang", "--print-file-name=libclang_rt.fuzzer-x86_64.a"],
                         capture_output=True, text=True).stdout.strip()
    return os.path.isabs(out) and os.path.exists(out)


def apt_line(packages):
    return "apt-get update && apt-get install -y " + " ".join(sorted(set(packages)))


def install_deps():
    packages = sorted({p for _, p, _ in TOOLS} | {RUNTIME_PACKAGE, "python3-matplotlib"}
                      | set(SWEEP_PACKAGES) | BASELINE_PACKAGES)
    cmd = apt_line(packages)
    if os.geteuid() != 0:
        sys.exit(f"configure: --install-deps runs apt-get and needs root; run as root:\n  {cmd}")
    print(f"configure: {cmd}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q"] + packages):
        if subprocess.run(step, env=env).returncode != 0:
            sys.exit(f"configure: '{' '.join(step)}' failed")


# --------------------------------------------------------------------------
# Sources. Found by glob, so a new file needs no edit here; build.ninja
# depends on the source folders, so adding a file re-runs configure.

def srcs(*patterns):
    found = []
    for pat in patterns:
        found += sorted(glob.glob(pat, root_dir=TOP) if sys.version_info >= (3, 10)
                        else [os.path.relpath(p, TOP) for p in glob.glob(os.path.join(TOP, pat))])
    return found


# Code that builds for the host too (unit tests, fuzzing): everything but the
# hardware. The kernel-only list is core/arch/x86_64, core/lib and core/kmain.c;
# keep it short (STYLE.md: the list only shrinks).
def testable_sources():
    return [s for s in srcs("core/*.c", "percpu/*.c") if s not in KERNEL_ONLY]


KERNEL_ONLY = {"core/kmain.c"}
KERNEL_ARCH = "core/arch/x86_64"
HOST_ARCH = "core/arch/host"
HOST_MAIN = f"{HOST_ARCH}/test_main.c"

WARN = ["-Wall", "-Wextra", "-Werror", "-Wthread-safety", "-Wno-unused-parameter"]
COMMON = ["-std=c11", "-g", "-fno-omit-frame-pointer"] + WARN

KERNEL_CFLAGS = COMMON + [
    "--target=x86_64-unknown-none-elf", "-ffreestanding", "-fno-builtin", "-nostdlib",
    "-mno-red-zone", "-mno-mmx", "-mno-sse", "-mno-sse2", "-mno-80387", "-mno-avx",
    "-mcmodel=kernel", "-fno-pic", "-fno-pie",
    # A canary in every frame with an array or an address-taken local; one
    # global guard (there is no TLS), set at boot (core/arch/x86_64/protect.c).
    "-fstack-protector-strong", "-mstack-protector-guard=global",
    "-mno-omit-leaf-frame-pointer", "-fno-asynchronous-unwind-tables",
    "-DEXO_KERNEL=1",
    "-Icore/include", "-Ipercpu/include", f"-I{KERNEL_ARCH}/include",
]
# User programs: freestanding, with x87 and SSE (the kernel saves each
# environment's FXSAVE state, the libOS each thread's; no AVX, which would need
# XSAVE), no red zone (libos_resume writes the resume address below the
# interrupted stack pointer), ABI headers from core/include, the runtime from
# libos-framework/include.
USER_CFLAGS = COMMON + [
    "--target=x86_64-unknown-none-elf", "-ffreestanding", "-fno-builtin", "-nostdlib",
    "-mno-red-zone", "-mno-avx",
    "-fno-pic", "-fno-pie", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
    "-DEXO_USER=1", "-Icore/include", "-Ilibos-framework/include",
]
# The libOS runtime: its own files plus the shared formatter, error names, statistics
# and string functions (one source for kernel and user, never copied).
LIBOS_SRCS = ["core/format.c", "core/errors.c", "core/stats.c", "core/lib/string.c"]
# What fuzz/guest/ programs link besides: cap_fuzz's program format and mutator.
GUEST_FUZZ_LIBS = ["fuzz/prog.c"]

HOST_CFLAGS = COMMON + [
    "-D_GNU_SOURCE", "-DEXO_HOST=1",
    "-Icore/include", "-Ipercpu/include", f"-I{HOST_ARCH}/include",
    "-Ilibos-framework/include",
]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
COV = ["-fprofile-instr-generate", "-fcoverage-mapping"]

MODE_FLAGS = {
    "debug": {"kernel": ["-O1"], "host": ["-O0"]},
    "release": {"kernel": ["-O2"], "host": ["-O2"]},
    "sanitize": {"host": ["-O1"] + SAN},
    "fuzz": {"host": ["-O1", "-fsanitize=fuzzer-no-link,address,undefined"]},
    "coverage": {"host": ["-O0"] + COV},
}


# Kernel functions the fuzzer's coverage feedback leaves out (oracles, resets).
FEEDBACK_IGNORE = "fuzz/feedback.ignore"
# Where the fuzz build traces comparisons (libFuzzer's CMP-guided mutation):
# the syscall decoders, which compare arguments with the values that matter.
# Elsewhere the comparisons are loops over every slot, frame and page-table
# entry; tracing each one cost a sixth of cap_fuzz's time and steered nothing
# (every planted bug is still found: tools/fuzz-plants --cold). The eBPF
# verifier's bound checks compare offsets with sizes: traced, its planted
# region-store bug is found in seconds instead of not in 150 s.
FUZZ_TRACE_CMP = ["core/syscall.c", "core/uaccess.c", "core/bpf.c", "core/bpf_elf.c"]


def not_bpf(files):
    """Drop downloaded code (*.bpf.c): it is built by bpfcc, not for a CPU."""
    return [f for f in files if not f.endswith(".bpf.c")]


def policy_sources():
    """Every policy: policies/<kind>/<name>.c, or every .c of policies/<kind>/<name>/."""
    return not_bpf(srcs("policies/*/*.c", "policies/*/*/*.c"))


def user_bpf_sources():
    """Downloaded code for user programs (docs/downloaded-code.md): every *.bpf.c of
    tests/user, workloads and policies, embedded in every program as bpf_obj_NAME[]."""
    return srcs("tests/user/*.bpf.c", "workloads/*.bpf.c", "policies/*/*.bpf.c",
                "policies/*/*/*.bpf.c")


# The framework files that build for the host too (policy registry and parsing),
# and the host's stand-ins for what they need of a running program.
LIBOS_HOST_SRCS = ["libos-framework/policy.c", "libos-framework/vm.c",
                   "libos-framework/ipc_ring.c", "libos-framework/host/shim.c"]
POLICY_LIST = "libos-framework/host/policy_list.c"


def user_programs():
    """[(name, [sources])]: one program per file of tests/user and workloads, one
    per folder of workloads (workloads/<name>/*.c), and the in-guest fuzzer last
    (program ids follow this order)."""
    progs = [(os.path.splitext(os.path.basename(s))[0], [s])
             for s in not_bpf(srcs("tests/user/*.c", "workloads/*.c"))]
    for folder in srcs("workloads/*/"):
        files = not_bpf(srcs(os.path.join(folder, "*.c")))
        if files:
            progs.append((os.path.basename(folder.rstrip("/")), files))
    progs += [(os.path.splitext(os.path.basename(s))[0], [s]) for s in srcs("fuzz/guest/*.c")]
    names = [n for n, _ in progs]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        sys.exit(f"configure: two programs named {', '.join(dups)} (a file and a folder?)")
    return progs


def fuzz_targets():
    return srcs("fuzz/*_fuzz.c")


def fuzz_support_sources():
    return [s for s in srcs("fuzz/*.c") if s not in fuzz_targets()]


def obj(mode, src, kind):
    return f"build/{mode}/obj/{kind}/{os.path.splitext(src)[0]}.o"


def write_rules(n, args):
    n.comment("Generated by configure.py; do not edit. Re-run ./configure.py to change.")
    n.variable("configure_args", " ".join(args.passthrough))
    n.variable("python", sys.executable)
    n.variable("cc", "clang")
    n.variable("ld", "ld.lld")
    n.newline()

    n.rule("kcc", "$cc -MMD -MF $out.d $cflags -c $in -o $out",
           description="KCC $out", depfile="$out.d", deps="gcc")
    n.rule("hcc", "$cc -MMD -MF $out.d $cflags -c $in -o $out",
           description="HCC $out", depfile="$out.d", deps="gcc")
    n.rule("hlink", "$cc $ldflags $in -o $out $libs", description="LINK $out")
    n.rule("klink", "$ld -nostdlib -static -z max-page-size=4096 --no-relax -T $script $in -o $out",
           description="KLINK $out")
    n.rule("ksyms", "$python tools/mksyms.py $in $out", description="KSYMS $out")
    n.rule("ulink", "$ld -nostdlib -static -z max-page-size=4096 -z separate-loadable-segments "
           "-T libos-framework/user.ld $in -o $out", description="ULINK $out")
    n.rule("policylist", "$in --json > $out.tmp && mv $out.tmp $out", description="POLICIES $out")
    n.rule("images", "$python tools/mkimages.py $out $images", description="IMAGES $out")
    n.rule("configure", "$python configure.py $configure_args", description="CONFIGURE",
           generator=True)
    n.rule("run", "$cmd", description="$desc", pool="console")
    n.rule("compdb", "ninja -t compdb kcc hcc > $out", description="COMPDB $out")
    # Downloaded code (docs/downloaded-code.md): C compiled to eBPF, and
    # objects embedded in a program as byte arrays.
    n.rule("bpfcc", "$cc -target bpf -O2 -ffreestanding -Wall -Werror -MMD -MF $out.d -Icore/include -c $in -o $out",
           description="BPFCC $out", depfile="$out.d", deps="gcc")
    n.rule("blobs", "$python tools/mkblobs.py $out $blobs", description="BLOBS $out")
    n.newline()


def write_regenerate(n):
    """build.ninja depends on configure.py and on every source folder: adding
    or removing a source file changes its folder's mtime and re-runs configure."""
    folders = sorted({os.path.dirname(s) or "." for s in srcs(
        "core/**/*.[cSh]", "percpu/**/*.[ch]", "tests/**/*.c", "fuzz/*.c", "tests/host/bpf/*.c",
        "libos-framework/**/*.[cSh]", "workloads/*.c", "workloads/*/*.c", "fuzz/guest/*.c",
        "policies/*/*.c", "policies/*/*/*.c")} | {"workloads", "policies"} | set(
        d.rstrip("/") for d in srcs("policies/*/")))
    # Absolute paths: the folder "fuzz" would otherwise name the phony mode target.
    n.build("build.ninja", "configure",
            implicit=["configure.py"] + [os.path.join(TOP, f) for f in folders])
    n.newline()


def write_policy_list(n, mode):
    """The policy registry checked on the host before any program links: a
    duplicate name or a missing hook fails the build, naming the file.
    Returns build/<mode>/policies.json."""
    plist = f"build/{mode}/policy-list"
    pobjs = [n.build(obj(mode, s, "p"), "hcc", s, variables={"cflags": HOST_CFLAGS + ["-O0"]})[0]
             for s in [POLICY_LIST, "core/format.c", "core/errors.c"] + LIBOS_HOST_SRCS
             + policy_sources()]
    n.build(plist, "hlink", pobjs, variables={"ldflags": []})
    return n.build(f"build/{mode}/policies.json", "policylist", plist)[0]


def write_programs(n, mode, uflags):
    """Every user program linked with the libOS and every policy; returns
    build/<mode>/user_images.S, which embeds them in the kernel. Program ids
    are user_programs()'s order: the in-guest fuzzer comes last."""
    libos_srcs = srcs("libos-framework/*.c", "libos-framework/*.S") + LIBOS_SRCS + policy_sources()
    libos = [n.build(obj(mode, s, "u"), "kcc", s, variables={"cflags": uflags})[0]
             for s in libos_srcs]
    # The in-guest fuzzer links the host target's program format and
    # mutator (one source; its <string.h> is the libOS's).
    gfuzz_libs = [n.build(obj(mode, s, "u"), "kcc", s, variables={
        "cflags": uflags + ["-Ifuzz/guest/include"]})[0] for s in GUEST_FUZZ_LIBS]
    policies_json = write_policy_list(n, mode)
    # Downloaded code: each *.bpf.c as bpf_obj_NAME[] and bpf_obj_NAME_size (libos/bpf.h).
    bpf_pairs = [(f"bpf_obj_{os.path.basename(s)[:-len('.bpf.c')]}", bpf_object(n, s))
                 for s in user_bpf_sources()]
    if bpf_pairs:
        bpf_s = f"build/{mode}/user_bpf_objs.S"
        n.build(bpf_s, "blobs", implicit=[o for _, o in bpf_pairs] + ["tools/mkblobs.py"],
                variables={"blobs": " ".join(f"{nm}={o}" for nm, o in bpf_pairs)})
        libos.append(n.build(f"build/{mode}/obj/u/user_bpf_objs.o", "kcc", bpf_s,
                             variables={"cflags": uflags})[0])
    images = []
    for name, prog_srcs in user_programs():
        objs = [n.build(obj(mode, s, "u"), "kcc", s, variables={"cflags": uflags})[0]
                for s in prog_srcs]
        extra = gfuzz_libs if prog_srcs[0].startswith("fuzz/guest/") else []
        elf = n.build(f"build/{mode}/user/{name}.elf", "ulink", libos + objs + extra,
                      implicit=["libos-framework/user.ld", policies_json])[0]
        images.append((name, elf))
    images_s = f"build/{mode}/user_images.S"
    n.build(images_s, "images", implicit=[e for _, e in images] + ["tools/mkimages.py"],
            variables={"images": " ".join(f"{nm}={e}" for nm, e in images)})
    return images_s


def write_kernel(n, mode, fl):
    """The kernel of one mode with its programs embedded; returns its path."""
    kflags = KERNEL_CFLAGS + fl["kernel"]
    images_s = write_programs(n, mode, USER_CFLAGS + fl["kernel"])
    kernel_srcs = srcs("core/*.c", "core/lib/*.c", "percpu/*.c", f"{KERNEL_ARCH}/*.c",
                       f"{KERNEL_ARCH}/*.S", "tests/common/*.c", "tests/guest/*.c")
    kobjs = [n.build(obj(mode, s, "k"), "kcc", s, variables={"cflags": kflags})[0]
             for s in kernel_srcs]
    kobjs.append(n.build(f"build/{mode}/obj/user_images.o", "kcc", images_s,
                         variables={"cflags": kflags})[0])
    script = f"{KERNEL_ARCH}/kernel.ld"
    stage1 = f"build/{mode}/kernel.stage1.elf"
    # Two links: the first finds every symbol's address, the second adds
    # the symbol table that panic backtraces print. The table sits after
    # everything else, so adding it moves no symbol.
    n.build(stage1, "klink", kobjs, implicit=[script], variables={"script": script})
    syms_s = f"build/{mode}/ksyms.S"
    n.build(syms_s, "ksyms", stage1, implicit=["tools/mksyms.py"])
    syms_o = n.build(f"build/{mode}/obj/ksyms.o", "kcc", syms_s,
                     variables={"cflags": kflags})[0]
    return n.build(f"build/{mode}/kernel.elf", "klink", kobjs + [syms_o],
                   implicit=[script], variables={"script": script})[0]


def host_lib_sources():
    return testable_sources() + [s for s in srcs(f"{HOST_ARCH}/*.c") if s != HOST_MAIN]


def write_fuzzers(n, hflags):
    """The real fuzzers, then one copy per planted bug (exo/plant.h) in
    build/fuzz/plant-N/: the fuzzer's self-test. Only the kernel is built for
    coverage feedback: it is what should steer the fuzzer, and tracing the
    harness's and the model's loops halves the speed. The harnesses' helpers
    (fuzz/*.c that are not targets: the reference model, the program format)
    know nothing of plants and are built once. Returns the fuzzers."""
    mode, mine = "fuzz", []
    sflags = HOST_CFLAGS + ["-O1"] + SAN
    support = [n.build(obj(mode, s, "h"), "hcc", s, variables={"cflags": sflags})[0]
               for s in fuzz_support_sources()]
    plant0_objs = None
    for plant in [0] + list(range(1, PLANT_COUNT)):
        sub = "h" if plant == 0 else f"plant-{plant}/h"
        out = "build/fuzz" if plant == 0 else f"build/fuzz/plant-{plant}"
        # The kernel's invariant checker and resets only the harness
        # calls are left out of the feedback too (fuzz/feedback.ignore).
        pflags = hflags + [f"-fsanitize-coverage-ignorelist={FEEDBACK_IGNORE}"] + (
            [f"-DEXO_PLANT={plant}"] if plant else [])

        def lib_flags(s):
            # The simulator (core/arch/host) is not under test either.
            if s.startswith(HOST_ARCH + "/"):
                return sflags
            return pflags + ([] if s in FUZZ_TRACE_CMP
                             else ["-fno-sanitize-coverage=trace-cmp"])
        # The policies and their registry too: sched_fuzz drives them, and
        # their branches should steer it.
        lib_srcs = host_lib_sources() + LIBOS_HOST_SRCS + policy_sources()
        only = PLANT_ONLY.get(plant)
        if only:
            lib_objs = [n.build(obj(mode, s, sub), "hcc", s, implicit=[FEEDBACK_IGNORE],
                                variables={"cflags": lib_flags(s)})[0] if s == only[0]
                        else plant0_objs[s] for s in lib_srcs]
        else:
            lib_objs = [n.build(obj(mode, s, sub), "hcc", s, implicit=[FEEDBACK_IGNORE],
                                variables={"cflags": lib_flags(s)})[0] for s in lib_srcs]
        if plant == 0:
            plant0_objs = dict(zip(lib_srcs, lib_objs))
        for target in fuzz_targets():
            name = os.path.splitext(os.path.basename(target))[0]
            if only and name != only[1]:
                continue
            o = n.build(obj(mode, target, sub), "hcc", target, variables={"cflags": sflags})[0]
            mine += n.build(f"{out}/{name}", "hlink", lib_objs + support + [o],
                            variables={"ldflags": ["-fsanitize=fuzzer,address,undefined"]})
    return mine


BPF_OBJECTS = set()  # written once, whichever mode asks first


def bpf_object(n, src):
    """src (C) compiled by `clang -target bpf -O2 -c`; the same object for every mode."""
    out = f"build/bpf/{os.path.splitext(src)[0]}.o"
    if out not in BPF_OBJECTS:
        BPF_OBJECTS.add(out)
        n.build(out, "bpfcc", src)
    return out


def write_bpf_test_blobs(n, mode):
    """tests/host/bpf/NAME.c compiled to eBPF and embedded in the host tests as
    bpf_obj_NAME[] and bpf_obj_NAME_size (tools/mkblobs.py); returns the .S."""
    pairs = [(f"bpf_obj_{os.path.splitext(os.path.basename(s))[0]}", bpf_object(n, s))
             for s in srcs("tests/host/bpf/*.c")]
    out = f"build/{mode}/bpf_test_objs.S"
    n.build(out, "blobs", implicit=[p for _, p in pairs] + ["tools/mkblobs.py"],
            variables={"blobs": " ".join(f"{nm}={p}" for nm, p in pairs)})
    return out


def write_host_tests(n, mode, hflags, ldflags):
    """The host test binary of one mode (and, for coverage, the capability
    fuzzer to replay its corpus); returns {name: path}."""
    host_lib = host_lib_sources()
    host_test_srcs = (host_lib + [HOST_MAIN] + srcs("tests/common/*.c", "tests/host/*.c")
                      + LIBOS_HOST_SRCS + policy_sources())
    hobjs = [n.build(obj(mode, s, "h"), "hcc", s, variables={"cflags": hflags})[0]
             for s in host_test_srcs]
    blobs_s = write_bpf_test_blobs(n, mode)
    hobjs.append(n.build(f"build/{mode}/obj/h/bpf_test_objs.o", "hcc", blobs_s,
                         variables={"cflags": hflags})[0])
    made = {"host-tests": n.build(f"build/{mode}/host-tests", "hlink", hobjs,
                                  variables={"ldflags": ldflags})[0]}
    if mode == "coverage":
        # libFuzzer's main runs the inputs (tools/fuzz-coverage); nothing is built for feedback.
        fobjs = [obj(mode, s, "h") for s in host_lib] + [
            n.build(obj(mode, s, "h"), "hcc", s, variables={"cflags": hflags})[0]
            for s in fuzz_support_sources() + ["fuzz/cap_fuzz.c"]]
        made["cap_fuzz"] = n.build(f"build/{mode}/cap_fuzz", "hlink", fobjs,
                                   variables={"ldflags": ldflags + ["-fsanitize=fuzzer"]})[0]
    return made


def write_top_targets(n, outputs):
    """check, check-host, the coverage reports, compdb, all, the default."""
    dbg_kernel = outputs[("debug", "kernel")]
    # The fuzzing smoke test needs the capability fuzzer and one planted-bug build.
    fuzz_smoke = ["build/fuzz/cap_fuzz", f"build/fuzz/plant-{SMOKE_PLANT}/cap_fuzz",
                  "build/fuzz/sched_fuzz", "build/fuzz/bpf_fuzz",
                  f"build/fuzz/plant-{SMOKE_BPF_PLANT}/bpf_fuzz", "tools/fuzz-smoke"]
    n.build("check", "run",
            # The release kernel too: the shipped sweep specs (the README's first
            # command among them) are checked against the release build.
            implicit=[outputs[("debug", "host-tests")], outputs[("sanitize", "host-tests")],
                      dbg_kernel, outputs[("release", "kernel")], "tools/check", "tools/exo",
                      "tests/guest/manifest.cfg"]
                     + srcs("tools/exolib/*.py") + fuzz_smoke
                     + ["tools/check-model", "models/revoke.pml"],
            variables={"cmd": "$python tools/check --host build/debug/host-tests "
                              "--host build/sanitize/host-tests --python-tests --fuzz --model "
                              "--guest",
                       "desc": "CHECK"})
    n.build("check-host", "run",
            implicit=[outputs[("debug", "host-tests")], outputs[("sanitize", "host-tests")]],
            variables={"cmd": "$python tools/check --host build/debug/host-tests "
                              "--host build/sanitize/host-tests --python-tests",
                       "desc": "CHECK (host only)"})
    cov_tests = outputs[("coverage", "host-tests")]
    n.build("coverage-report", "run", implicit=[cov_tests, "tools/coverage"],
            variables={"cmd": f"$python tools/coverage {cov_tests}", "desc": "COVERAGE"})
    cov_fuzz = outputs[("coverage", "cap_fuzz")]
    n.build("fuzz-coverage", "run", implicit=[cov_fuzz, "tools/fuzz-coverage"],
            variables={"cmd": f"$python tools/fuzz-coverage {cov_fuzz}",
                       "desc": "COVERAGE (fuzz corpus)"})
    n.build("compile_commands.json", "compdb", implicit=["build.ninja"])
    n.build("compdb", "phony", "compile_commands.json")
    n.build("all", "phony", MODES)
    n.default(["debug"])


def write_ninja(n, args):
    write_rules(n, args)
    write_regenerate(n)
    outputs = {}
    for mode in MODES:
        fl = MODE_FLAGS[mode]
        mine = []
        if "kernel" in fl:
            outputs[(mode, "kernel")] = write_kernel(n, mode, fl)
            mine.append(outputs[(mode, "kernel")])
        hflags = HOST_CFLAGS + fl["host"]
        ldflags = [f for f in fl["host"] if f.startswith(("-fsanitize", "-fprofile"))]
        if mode == "fuzz":
            mine += write_fuzzers(n, hflags)
        else:
            for name, path in write_host_tests(n, mode, hflags, ldflags).items():
                outputs[(mode, name)] = path
                mine.append(path)
        n.build(mode, "phony", mine)
        n.newline()
    write_top_targets(n, outputs)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install-deps", action="store_true",
                    help="install missing Debian packages with apt-get (as root), then configure")
    ap.add_argument("--check-only", action="store_true",
                    help="only report missing tools; write nothing")
    args = ap.parse_args()
    args.passthrough = []  # options worth repeating when build.ninja regenerates itself

    if args.install_deps:
        install_deps()

    missing = missing_tools()
    for tool, pkg, required in missing:
        kind = "required to build" if required else "needed by ninja check / reports"
        print(f"configure: missing {tool} ({kind}; Debian package {pkg})")
    if missing:
        print("configure: install them with:\n  " + apt_line(p for _, p, _ in missing)
              + "\n  (or: ./configure.py --install-deps)")
    if args.check_only:
        sys.exit(1 if missing else 0)

    os.chdir(TOP)
    tmp = "build.ninja.tmp"
    with open(tmp, "w") as f:
        write_ninja(NinjaWriter(f), args)
    os.replace(tmp, "build.ninja")
    print("configure: wrote build.ninja (modes: " + ", ".join(MODES) + ")")
    if shutil.which("ninja"):
        with open("compile_commands.json", "w") as f:
            subprocess.run(["ninja", "-t", "compdb", "kcc", "hcc"], stdout=f, check=False)
    if any(required for _, _, required in missing):
        sys.exit(1)


if __name__ == "__main__":
    main()
