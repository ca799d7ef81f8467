#!/usr/bin/env python3
"""Write the assembly that embeds user program images in the kernel.

    mkimages.py OUT.S NAME=PATH...

Defines user_images[] (struct user_image in core/include/exo/image.h) and
user_image_count, in the order given (that order is the program id).
"""
import sys


def main():
    out, pairs = sys.argv[1], sys.argv[2:]
    lines = ['\t.section .user_images, "a"']
    for i, pair in enumerate(pairs):
        name, path = pair.split("=", 1)
        lines += [f"\t.balign 16", f"user_image_{i}:", f'\t.incbin "{path}"', f"user_image_{i}_end:",
                  f"user_image_name_{i}:", f'\t.asciz "{name}"']
    lines += ["\t.balign 8", "\t.globl user_images", "user_images:"]
    for i in range(len(pairs)):
        lines += [f"\t.quad user_image_name_{i}", f"\t.quad user_image_{i}",
                  f"\t.quad user_image_{i}_end - user_image_{i}"]
    lines += ["\t.quad 0, 0, 0", "\t.balign 4", "\t.globl user_image_count", "user_image_count:",
              f"\t.long {len(pairs)}", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
