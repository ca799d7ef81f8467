#!/usr/bin/env python3
"""Write the kernel symbol table (assembly) from a linked kernel ELF.

    mksyms.py KERNEL.elf OUT.S

panic() backtraces print "symbol+offset" from this table. The table lists
every function (text symbol), sorted by address, as
    struct ksym { uint64_t addr; uint32_t name; uint32_t size; }
followed by the NUL-terminated names; ksyms_count says how many.
"""
import subprocess
import sys


def text_symbols(elf):
    out = subprocess.run(["llvm-nm", "-n", "-S", "--defined-only", elf],
                         capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            addr, size, kind, name = parts
        elif len(parts) == 3:
            addr, kind, name = parts
            size = "0"
        else:
            continue
        if kind in "tT" and not name.startswith(".L"):
            syms.setdefault(int(addr, 16), (name, int(size, 16)))
    return sorted((a, n, s) for a, (n, s) in syms.items())


def main():
    elf, out = sys.argv[1:3]
    syms = text_symbols(elf)
    lines = ['\t.section .ksyms, "a"', "\t.balign 8", "\t.globl ksyms_table", "ksyms_table:"]
    offset = 0
    for addr, name, size in syms:
        lines.append(f"\t.quad {addr:#x}\n\t.long {offset}\n\t.long {size}")
        offset += len(name) + 1
    lines += ["\t.globl ksyms_names", "ksyms_names:"]
    lines += [f'\t.asciz "{name}"' for _, name, _ in syms]
    lines += ["\t.balign 8", "\t.globl ksyms_count", "ksyms_count:", f"\t.quad {len(syms)}", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
