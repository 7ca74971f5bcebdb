"""The deploy tests under load: ``tests/deploy`` (unit tests and the real-time runs of
the node against the virtual G1) ``--runs`` times in a row with one busy process per
core beside them. Prints each run's outcome and the fault reactions the tests measured:
from the injected fault (the first faulty or missing LowState the virtual G1 had due) or,
for faults the node finds itself, from its detection; median and worst over the runs.

    python benchmarks/deploy_under_load.py [--runs 5] [--no-hog]
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro
from cpu_hog import cpu_hog

REPO = Path(__file__).resolve().parents[1]
REACTION = re.compile(r"reaction to (.+?): ([\d.]+) ms from (the injected fault|detection)")


@dataclass
class Args:
    runs: int = 5
    hog: bool = True
    """A busy process per core beside the tests (off: the machine as it is)."""


def run_once() -> tuple[bool, str, float, list[tuple[str, str, float]]]:
    """(passed, pytest's summary and failures, seconds, reactions) of one run of the
    deploy tests."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-m", "not slow", "-p", "no:cacheprovider",
         "tests/deploy"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    summary = lines[-1] if lines else out.stderr.strip()[-200:]
    failures = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    summary = "\n  ".join([summary, *failures])
    reactions = [(m[1], m[3], float(m[2])) for m in REACTION.finditer(out.stdout)]
    return out.returncode == 0, summary, time.perf_counter() - start, reactions


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/deploy_under_load.py", description=__doc__)
    reactions: dict[tuple[str, str], list[float]] = defaultdict(list)
    passed = 0
    with cpu_hog(None if args.hog else 0):
        for i in range(args.runs):
            ok, summary, seconds, found = run_once()
            passed += ok
            print(f"run {i + 1}: {'passed' if ok else 'FAILED'} ({summary}), {seconds:.0f} s",
                  flush=True)  # fmt: skip
            for fault, since, ms in found:
                reactions[(fault, since)].append(ms)
    load = "a busy process per core beside" if args.hog else "the machine as it is"
    print(f"\n{passed} of {args.runs} runs passed, {load}")
    print(f"{'fault':40s} {'timed from':20s} {'median ms':>10s} {'worst ms':>10s} {'runs':>5s}")
    for (fault, since), ms in reactions.items():
        print(f"{fault:40s} {since:20s} {np.median(ms):10.1f} {max(ms):10.1f} {len(ms):5d}")
    sys.exit(0 if passed == args.runs else 1)


if __name__ == "__main__":
    main()
