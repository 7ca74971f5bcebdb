"""Every command-line entry point answers --help (the working runs are in the package tests)."""

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.help_output import help_output

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(str(p.relative_to(REPO)) for p in (REPO / "benchmarks").glob("*.py")) + [
    "sim2sim/run_mujoco.py", "deploy/g1_node.py", "deploy/virtual_g1.py",
]  # fmt: skip
MODULES = ["robots", "retarget", "training"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help(script):
    assert_help(help_output((script,)))


@pytest.mark.parametrize("module", MODULES)
def test_module_help(module):
    assert_help(help_output(("-m", module)))


@pytest.mark.parametrize("command", ["stage1", "stage2", "stage3", "evaluate", "curves", "export"])
def test_training_subcommand_help(command):
    assert_help(help_output(("-m", "training", command)))


def assert_help(out: subprocess.CompletedProcess) -> None:
    """--help succeeded, and no option's help sentence is another option's too."""
    assert out.returncode == 0 and "usage" in out.stdout, out.stderr
    # short texts ("m", "rad") may repeat; a sentence belongs to one option
    texts = Counter(t for t in option_texts(out.stdout).values() if len(t) > 30)
    assert not [t for t, k in texts.items() if k > 1], "a comment leaks into later options' help"


def option_texts(help_text: str) -> dict[str, str]:
    """Each option's help text, without its default (tyro's boxed layout)."""
    texts: dict[str, list[str]] = {}
    option = None
    for line in help_text.splitlines():
        line = line.strip("│╭╰─ ").strip()
        if line.startswith("-"):
            option, _, rest = line.partition("  ")
            texts[option] = [rest.strip()]
        elif option:
            texts[option].append(line)
    default = re.compile(r"\s*\(default: .*?\)\s*$")
    return {k: default.sub("", " ".join(v).strip()) for k, v in texts.items()}
