"""A CPU hog for measurements under load: one busy process per core (or ``--cores``),
for ``--seconds`` (0: until Ctrl-C). The benchmarks use it as a context manager
(``with cpu_hog(): ...``); run alone, it loads the machine beside anything else, e.g.
the robot node against the virtual G1.

    python benchmarks/cpu_hog.py [--seconds 60] [--cores N]
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import tyro


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


@dataclass
class Args:
    seconds: float = 0.0
    """How long (0: until Ctrl-C)."""
    cores: int | None = None
    """Busy processes (default: one per core)."""


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/cpu_hog.py", description=__doc__)
    with cpu_hog(args.cores) as count:
        print(f"{count} busy processes", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds if args.seconds > 0 else 1e9)


if __name__ == "__main__":
    main()
