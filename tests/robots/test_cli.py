"""Every command-line entry point runs once (help and a real invocation)."""

import subprocess
import sys

import mujoco
import pinocchio as pin
import pytest

from robots.demo import demo_clip


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=300
    )
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.parametrize("command", ["export", "render", "check", "info", "demo"])
def test_help(command):
    assert "usage" in run("robots", command, "--help").stdout


def test_export_mjcf_and_urdf(tmp_path):
    run("robots", "export", "--format", "mjcf", "--out", str(tmp_path / "g1.xml"))
    run(
        "robots",
        "export",
        "--format",
        "mjcf",
        "--gains",
        "stand",
        "--floor",
        "--out",
        str(tmp_path / "scene.xml"),
    )
    run("robots", "export", "--format", "urdf", "--out", str(tmp_path / "g1.urdf"))
    assert mujoco.MjModel.from_xml_path(str(tmp_path / "g1.xml")).nu == 29
    assert mujoco.MjModel.from_xml_path(str(tmp_path / "scene.xml")).ngeom > 33
    assert pin.buildModelFromUrdf(str(tmp_path / "g1.urdf"), pin.JointModelFreeFlyer()).nq == 36


def test_info_check_and_render(tmp_path):
    assert "left_hip_pitch_joint" in run("robots", "info").stdout
    clip = demo_clip(duration=0.3).save(tmp_path / "clip.npz")
    assert "ok" in run("robots", "check", str(clip)).stdout
    led = tmp_path / "led.npz"
    assert "wrote" in run("robots", "lead-in", str(clip), "--out", str(led)).stdout
    assert "ok" in run("robots", "check", str(led)).stdout
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    proc = run("robots", "check", str(clip), str(bad), ok=False)
    assert proc.returncode == 1 and "not a readable" in proc.stdout
    out = tmp_path / "v.mp4"
    run("robots", "render", str(clip), "--out", str(out), "--width", "160", "--height", "120")
    assert out.stat().st_size > 0
    proc = run("robots", "render", str(tmp_path / "missing.npz"), ok=False)
    assert proc.returncode == 2 and "not found" in proc.stdout


# Slow (a 6 s video rendered on the CPU): its export, clip and rendering run above.
@pytest.mark.slow
def test_demo_main_job(tmp_path):
    run("robots", "demo", "--out", str(tmp_path))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["demo.mp4", "demo_clip.npz", "demo_sheet.png", "g1.urdf", "g1.xml"]
