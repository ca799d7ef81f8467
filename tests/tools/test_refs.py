"""Unit tests of the reference-string disk format (tools/exolib/refs.py) and
of `exo run --disk` / `--refs` (dry runs: no QEMU is started).

    python3 -m unittest discover -s tests/tools -v
"""

import os
import struct
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))

from exolib import refs  # noqa: E402

EXO = os.path.join(TOP, "tools", "exo")
RUN_IMG = os.path.join(TOP, "build", "disks", "run.img")


class ParseTest(unittest.TestCase):
    def test_commas_spaces_lines_and_comments(self):
        self.assertEqual(refs.parse("1,2, 3\n4 5 # five\n# none\n6"), [1, 2, 3, 4, 5, 6])

    def test_bad_words_empty_and_too_large_are_refused(self):
        for text, why in (("1,x,3", "'x' is not a page number"), ("# nothing", "no page numbers"),
                          ("1,-2", "'-2'"), ("512", "past the last page")):
            with self.assertRaises(refs.RefsError) as c:
                refs.parse(text, "f.txt")
            self.assertIn(why, str(c.exception))
        with self.assertRaises(refs.RefsError):
            refs.parse(",".join(["1"] * (refs.REFS_MAX + 1)))


class ImageTest(unittest.TestCase):
    def test_header_then_page_numbers_from_block_1(self):
        data = refs.image([7, 0, 1, 2])
        self.assertEqual(len(data), 2 * refs.BLOCK_SIZE)
        self.assertEqual(data[:8], b"EXOREFS1")
        self.assertEqual(struct.unpack_from("<QQQ", data, 8), (4, 1, 8))
        self.assertEqual(struct.unpack_from("<4I", data, refs.BLOCK_SIZE), (7, 0, 1, 2))
        self.assertEqual(refs.decode(data), [7, 0, 1, 2])

    def test_1024_page_numbers_to_a_block(self):
        self.assertEqual(len(refs.image(list(range(1024)))), 2 * refs.BLOCK_SIZE)
        self.assertEqual(len(refs.image([0] * 1025)), 3 * refs.BLOCK_SIZE)
        big = [i % 300 for i in range(5000)]
        self.assertEqual(refs.decode(refs.image(big)), big)

    def test_write_disk_is_sparse_sized_and_refuses_too_small(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.img")
            refs.write_disk(path, [1, 2, 3], 16 << 20)
            self.assertEqual(os.path.getsize(path), 16 << 20)
            with open(path, "rb") as f:
                self.assertEqual(refs.decode(f.read(3 * refs.BLOCK_SIZE)), [1, 2, 3])
            refs.write_disk(path, [1, 2, 3])
            self.assertEqual(os.path.getsize(path), 1 << 20)
            with self.assertRaises(refs.RefsError):
                refs.write_disk(path, [0] * 2000, refs.BLOCK_SIZE * 2)

    def test_decode_refuses_a_blank_disk(self):
        with self.assertRaises(refs.RefsError):
            refs.decode(bytes(2 * refs.BLOCK_SIZE))


class RunOptionsTest(unittest.TestCase):
    def run_exo(self, *args):
        return subprocess.run([sys.executable, EXO, "run", "--dry-run", "--kernel", "k.elf",
                               *args], capture_output=True, text=True)

    def test_disk_attaches_a_fresh_sparse_image(self):
        r = self.run_exo("--disk", "8M", "--", "run=memscan")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("-drive file=build/disks/run.img,format=raw,if=virtio", r.stdout)
        self.assertEqual(os.path.getsize(RUN_IMG), 8 << 20)

    def test_refs_writes_the_reference_string_onto_the_disk(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1\n")
        try:
            r = self.run_exo("--refs", f.name, "--", "run=pagetrace", "frames=3")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("-drive file=build/disks/run.img", r.stdout)
            with open(RUN_IMG, "rb") as img:
                self.assertEqual(refs.decode(img.read(2 * refs.BLOCK_SIZE))[:4], [7, 0, 1, 2])
            self.assertEqual(os.path.getsize(RUN_IMG), 1 << 20)
            r = self.run_exo("--refs", f.name, "--disk", "4M", "--", "run=pagetrace")
            self.assertEqual(os.path.getsize(RUN_IMG), 4 << 20)
        finally:
            os.unlink(f.name)

    def test_bad_refs_file_is_a_setup_error(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("1,2,banana\n")
        try:
            r = self.run_exo("--refs", f.name, "--", "run=pagetrace")
            self.assertEqual(r.returncode, 2)
            self.assertIn("'banana' is not a page number", r.stderr)
            r = self.run_exo("--refs", "/nonexistent/refs.txt", "--", "run=pagetrace")
            self.assertEqual(r.returncode, 2)
        finally:
            os.unlink(f.name)

    def test_no_disk_without_the_options(self):
        r = self.run_exo("--", "run=hello")
        self.assertNotIn("-drive", r.stdout)


if __name__ == "__main__":
    unittest.main()


KERNEL = os.path.join(TOP, "build", "debug", "kernel.elf")
PAGETRACE = os.path.join(TOP, "build", "debug", "user", "pagetrace.elf")


@unittest.skipUnless(os.path.isfile(KERNEL) and os.path.isfile(PAGETRACE),
                     "needs the debug build (ninja debug)")
class RefsGuestTest(unittest.TestCase):
    """One boot: the reference string goes onto the disk, the guest reads it
    from there and gets the textbook count (Belady's anomaly, FIFO in 4 frames)."""

    def test_pagetrace_reads_its_reference_string_from_the_disk(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("# Belady\n1 2 3 4 1 2 5 1 2 3 4 5\n")
        try:
            r = subprocess.run([sys.executable, EXO, "run", "--refs", f.name, "--timeout", "60",
                                "--", "run=pagetrace", "pager=fifo", "frames=4", "expect=10"],
                               capture_output=True, text=True, cwd=TOP)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
        self.assertIn("pagetrace: fifo frames 4 refs 12 faults 10", r.stdout)
