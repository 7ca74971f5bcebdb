"""A CPU hog for measurements under load: one busy process per core, for as long as the
``with`` block runs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys


@contextlib.contextmanager
def cpu_hog(cores: int | None = None):
    """``cores`` busy processes (default: one per core; 0: none). A SIGTERM ends the
    ``with`` block as an exception does, so the hogs never outlive their caller."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    count = (os.cpu_count() or 1) if cores is None else cores
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield len(hogs)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
