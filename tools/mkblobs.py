#!/usr/bin/env python3
"""Write the assembly that embeds files in a program, one symbol per file.

    mkblobs.py OUT.S NAME=PATH...

Defines, for each NAME, `const uint8_t NAME[]` (8-byte aligned, read-only)
and `const uint64_t NAME_size`. Used for the `clang -target bpf` objects
the host tests read (tests/host/bpf/).
"""
import sys


def main():
    out, pairs = sys.argv[1], sys.argv[2:]
    lines = ['\t.section .rodata, "a"']
    for pair in pairs:
        name, path = pair.split("=", 1)
        lines += ["\t.balign 8", f"\t.globl {name}", f"{name}:", f'\t.incbin "{path}"',
                  f"{name}_end:", "\t.balign 8", f"\t.globl {name}_size", f"{name}_size:",
                  f"\t.quad {name}_end - {name}"]
    lines += ['\t.section .note.GNU-stack, "", @progbits', ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
