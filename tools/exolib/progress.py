"""The sweep's progress bar with an ETA: tqdm (Debian's python3-tqdm) on a
terminal; without tqdm, or when not on a terminal, one line per point with
the same count and ETA, and a notice saying what to install."""

import sys
import time

INSTALL = "apt-get install python3-tqdm (or ./configure.py --install-deps)"


def load_tqdm():
    try:
        import tqdm  # noqa: F401
        return tqdm.tqdm
    except ImportError:
        return None


class Progress:
    def __init__(self, total, done=0, stream=sys.stderr, bar=None):
        """bar: True/False to force tqdm on or off; None: on when stream is a terminal."""
        self.total, self.done, self.stream = total, done, stream
        self.t0, self.ran = time.monotonic(), 0
        tqdm = load_tqdm()
        want = stream.isatty() if bar is None else bar
        if want and tqdm is None:
            print(f"exo: no progress bar: tqdm is missing; {INSTALL}", file=stream)
        self.bar = tqdm(total=total, initial=done, unit="point", file=stream,
                        dynamic_ncols=True) if want and tqdm else None

    def eta(self):
        """Seconds left at the pace of the points run so far, or None."""
        if not self.ran:
            return None
        per = (time.monotonic() - self.t0) / self.ran
        return per * (self.total - self.done)

    def point(self, line):
        """One point finished; line says how."""
        self.done += 1
        self.ran += 1
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
            self.bar.update(1)
            return
        eta = self.eta()
        left = f", ETA {fmt_seconds(eta)}" if eta is not None and self.done < self.total else ""
        print(f"[{self.done}/{self.total}{left}] {line}", file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def fmt_seconds(s):
    s = int(round(s))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
