"""One ``--help`` run per program and subcommand for the whole test session (each costs
seconds of imports): the entry-point and documented-command tests share them."""

import subprocess
import sys
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@cache
def help_output(program: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *program, "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)  # fmt: skip
