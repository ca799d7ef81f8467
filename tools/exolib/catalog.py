"""What a build holds, read host-side: the user programs a kernel can run
(`build/<mode>/user/<name>.elf`, embedded by tools/mkimages.py), the policies
the build registered (`build/<mode>/policies.json`), and the guest tests
linked into a kernel (its `exo_tests` pointers, read from the ELF file).

Every tool asks here before it boots, so a typo is an error with the list of
what exists instead of a run that does something else.
"""

import fnmatch
import glob
import json
import os
import struct

POLICY_KINDS = ("sched", "pager", "ipc")


class CatalogError(Exception):
    pass


def build_dir(top, mode):
    return os.path.join(top, "build", mode)


def programs(top, mode):
    """Sorted names of the user programs built for mode ([] if none)."""
    paths = glob.glob(os.path.join(build_dir(top, mode), "user", "*.elf"))
    return sorted(os.path.basename(p)[:-len(".elf")] for p in paths)


def policies_path(top, mode):
    return os.path.join(build_dir(top, mode), "policies.json")


def policy_entries(top, mode):
    """{kind: [{name, description, file, params: [{name, default, help}]}]}
    as build/<mode>/policies.json has it, or None when there is no such file."""
    path = policies_path(top, mode)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise CatalogError(f"{path}: not readable as JSON: {e}") from e
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise CatalogError(f"{path}: want a JSON object of policy lists per kind")
    return data


def policies(top, mode):
    """{kind: {name: {param: default}}} from build/<mode>/policies.json, or
    None when the build made no such file (no policies built yet)."""
    data = policy_entries(top, mode)
    if data is None:
        return None
    path = policies_path(top, mode)
    out = {}
    for kind, entries in data.items():
        out[kind] = {}
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("name"), str):
                raise CatalogError(f"{path}: a {kind} policy without a name: {e!r}")
            out[kind][e["name"]] = {p["name"]: str(p.get("default", ""))
                                    for p in e.get("params", []) if isinstance(p, dict)}
    return out


def parse_policy(text):
    """"lottery:quantum_us=500,seed=3" -> ("lottery", {"quantum_us": "500", "seed": "3"})."""
    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise CatalogError(f"policy {text!r}: {item!r} is not param=value")
        params[key] = value
    if not name:
        raise CatalogError(f"policy {text!r} has no name")
    return name, params


def policy_problem(kind, text, known, mode="debug"):
    """Why `kind=text` cannot be honoured, or None. known: policies() (may be None)."""
    if known is None:
        return (f"{kind}={text}: no policies built yet (build/{mode}/policies.json"
                " does not exist)")
    try:
        name, params = parse_policy(text)
    except CatalogError as e:
        return f"{kind}={text}: {e}"
    names = known.get(kind, {})
    if name not in names:
        return (f"unknown {kind} policy {name!r}; known: "
                f"{', '.join(sorted(names)) or '(none)'}")
    unknown = sorted(set(params) - set(names[name]))
    if unknown:
        return (f"{kind} policy {name!r} has no parameter {', '.join(map(repr, unknown))};"
                f" it has: {', '.join(sorted(names[name])) or '(none)'}")
    return None


# ---------------------------------------------------------------------------
# Guest tests: the kernel's exo_tests pointers, each to a struct test_case
# whose first two members are the suite and name strings (core/include/exo/test.h).

def guest_tests(kernel):
    """"suite.name" of every guest test linked into kernel, in link order."""
    try:
        with open(kernel, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CatalogError(f"cannot read {kernel}: {e.strerror}") from e
    elf = _Elf(kernel, data)
    start, stop = elf.symbol("__start_exo_tests"), elf.symbol("__stop_exo_tests")
    names = []
    for addr in range(start, stop, 8):
        case = elf.u64(addr)
        names.append(f"{elf.cstring(elf.u64(case))}.{elf.cstring(elf.u64(case + 8))}")
    return names


def matching_tests(tests, patterns):
    """The tests a test=PATTERNS selection runs (comma-separated globs, or all)."""
    globs = [p for p in patterns.split(",") if p]
    return [t for t in tests if any(g == "all" or fnmatch.fnmatchcase(t, g) for g in globs)]


class _Elf:
    """Just enough of an ELF64 little-endian reader: sections, symbols, bytes at an address."""

    def __init__(self, path, data):
        self.path, self.data = path, data
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise CatalogError(f"{path} is not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
        self.sections = []
        for i in range(shnum):
            (name, type_, _flags, addr, off, size, link, _info, _align,
             entsize) = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
            self.sections.append((name, type_, addr, off, size, link, entsize))

    def symbol(self, wanted):
        for _n, type_, _a, off, size, link, entsize in self.sections:
            if type_ != 2:  # SHT_SYMTAB
                continue
            stroff = self.sections[link][3]
            for i in range(size // entsize):
                name, _info, _other, _shndx, value, _size = struct.unpack_from(
                    "<IBBHQQ", self.data, off + i * entsize)
                if self._str(stroff + name) == wanted:
                    return value
        raise CatalogError(f"{self.path} has no symbol {wanted} (not an exocore kernel?)")

    def _str(self, off):
        end = self.data.index(b"\0", off)
        return self.data[off:end].decode("utf-8", "replace")

    def offset(self, addr):
        for _n, type_, saddr, off, size, _l, _e in self.sections:
            if type_ == 1 and saddr and saddr <= addr < saddr + size:  # SHT_PROGBITS
                return off + addr - saddr
        raise CatalogError(f"{self.path}: address {addr:#x} is in no loaded section")

    def u64(self, addr):
        return struct.unpack_from("<Q", self.data, self.offset(addr))[0]

    def cstring(self, addr):
        return self._str(self.offset(addr))
