"""Every command-line entry point answers --help (the working runs are in the package tests)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(str(p.relative_to(REPO)) for p in (REPO / "benchmarks").glob("*.py")) + [
    "sim2sim/run_mujoco.py", "deploy/g1_node.py", "deploy/virtual_g1.py",
]  # fmt: skip
MODULES = ["robots", "retarget", "training"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help(script):
    out = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert out.returncode == 0 and "usage" in out.stdout, out.stderr


@pytest.mark.parametrize("module", MODULES)
def test_module_help(module):
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert out.returncode == 0 and "usage" in out.stdout, out.stderr


@pytest.mark.parametrize(
    "command", ["stage1", "stage2", "stage3", "eval", "play", "curves", "export"]
)
def test_training_subcommand_help(command):
    out = subprocess.run(
        [sys.executable, "-m", "training", command, "--help"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0 and "usage" in out.stdout, out.stderr
