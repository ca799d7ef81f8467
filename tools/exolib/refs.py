"""Reference strings on a disk image, for trace mode (workloads/pagetrace.c).

`tools/exo run --refs FILE` writes FILE's page numbers onto the run's disk
image; the guest program allocates exactly those blocks and reads them.
The on-disk format (docs/paging.md), little-endian, BLOCK_SIZE 4096:

    block 0     header: magic b"EXOREFS1", count (u64), first block of the
                page numbers (u64, always 1), pages (u64: the largest page
                number + 1); the rest of the block is zero
    block 1...  count page numbers as u32, 1024 to a block, zero-padded

FILE is text: page numbers separated by commas or white space; '#' starts a
comment that runs to the end of the line.
"""

import os
import struct

BLOCK_SIZE = 4096
MAGIC = b"EXOREFS1"
HEADER = struct.Struct("<8sQQQ")
REFS_MAX = 16384  # what the guest program holds
PAGES_MAX = 512   # the VM's pages at most


class RefsError(Exception):
    """A reference string the guest cannot run; the message says why."""


def parse(text, where="refs"):
    """Page numbers from text (see the module doc); RefsError if malformed."""
    refs = []
    for n, line in enumerate(text.splitlines(), 1):
        for word in line.split("#", 1)[0].replace(",", " ").split():
            if not word.isdigit():
                raise RefsError(f"{where}:{n}: {word!r} is not a page number")
            refs.append(int(word))
    if not refs:
        raise RefsError(f"{where}: no page numbers")
    if len(refs) > REFS_MAX:
        raise RefsError(f"{where}: {len(refs)} references; at most {REFS_MAX}")
    if max(refs) >= PAGES_MAX:
        raise RefsError(f"{where}: page {max(refs)} is past the last page ({PAGES_MAX - 1})")
    return refs


def image(refs):
    """The bytes of blocks 0..n (header and page numbers), a whole number of blocks."""
    header = HEADER.pack(MAGIC, len(refs), 1, max(refs) + 1).ljust(BLOCK_SIZE, b"\0")
    body = struct.pack(f"<{len(refs)}I", *refs)
    body = body.ljust(-(-len(body) // BLOCK_SIZE) * BLOCK_SIZE, b"\0")
    return header + body


def decode(data):
    """The page numbers in an image's first blocks (the inverse of image)."""
    magic, count, first, _pages = HEADER.unpack_from(data, 0)
    if magic != MAGIC or first != 1:
        raise RefsError("not a reference-string disk (no EXOREFS1 header)")
    return list(struct.unpack_from(f"<{count}I", data, first * BLOCK_SIZE))


def write_disk(path, refs, size=None):
    """Write refs at the start of a sparse image of size bytes (None: just big
    enough, rounded up to 1 MiB). RefsError if they do not fit in size."""
    data = image(refs)
    if size is None:
        size = -(-len(data) // (1 << 20)) * (1 << 20)
    if len(data) > size:
        raise RefsError(f"{len(refs)} references need {len(data)} bytes; the disk has {size}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
        f.write(data)
    return path
