"""The environment benchmarks run (on tiny sizes; what they measure is in the docs, not
asserted here)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIP = "sim2sim/policies/stage1_lift_clip.npz"


def run(*args: str) -> str:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                         timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


# MuJoCo Warp on the CPU compiles its kernels for half a minute: slow
@pytest.mark.parametrize("backend", ["batch", pytest.param("warp", marks=pytest.mark.slow)])
def test_env_speed_runs(backend):
    if backend == "warp":
        pytest.importorskip("mujoco_warp")
    out = run("benchmarks/env_speed.py", "--backend", backend, "--num-envs", "2", "--steps", "2",
              "--physics", "shared", "--clip", CLIP)  # fmt: skip
    lines = [line for line in out.splitlines() if line.startswith("shared")]
    assert len(lines) == (2 if backend == "batch" else 1)  # 1 and 2 threads
    assert all("physics in the env run" in line and "raw loop" in line for line in lines)
    assert all(("raw from the env's states" in line) == (backend == "warp") for line in lines)


@pytest.mark.slow
def test_env_dispatch_runs():
    pytest.importorskip("mujoco_warp")
    out = run("benchmarks/env_dispatch.py", "--num-envs", "4", "--steps", "3", "--top", "2")
    assert "host syncs" in out and "graph launches" in out
    assert len(out.splitlines()) == 8  # the counts and the two busiest call sites
