import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import mujoco
import numpy as np

from contract.policy import Policy
from contract.sensors import SensorNoise
from robots.clip import load_clip
from robots.g1.mjcf import UNITREE_SIM
from sim2sim.harness import IDEAL, Sim2Sim, Sim2SimSettings
from sim2sim.teleop import GLFW, Teleop
from training.env import EnvConfig, HoiEnv
from training.randomization import RandomizationConfig

REPO = Path(__file__).resolve().parents[2]
QUIET = replace(IDEAL, noise=SensorNoise(0.0, 0.0, 0.0))


def test_training_and_sim2sim_build_identical_observations(exported):
    """The same recorded states through the training env and the sim2sim harness."""
    path, clip_path, _ = exported
    clip = load_clip(clip_path)
    env = HoiEnv([clip], EnvConfig(num_envs=3, num_threads=1, psi_prob=0.0,
                                   randomization=RandomizationConfig(enabled=False)))  # fmt: skip
    rng = np.random.default_rng(0)
    for _ in range(4):
        env.step(rng.normal(scale=0.2, size=(3, 29)))
    batched = env.observation()
    sim = Sim2Sim(Policy.load(path), clip, QUIET)
    sim.reset(0)
    qpos, qvel = env.backend.field("qpos"), env.backend.field("qvel")
    for i in range(3):
        sim.data.qpos[:], sim.data.qvel[:] = qpos[i], qvel[i]
        mujoco.mj_forward(sim.model, sim.data)
        sim.frame = float(env.frame[i])
        sim.runner.last_action = env.last_action[i : i + 1]
        np.testing.assert_allclose(sim.observation()[0], batched[i], atol=1e-5)


def test_episode_report(exported):
    path, clip_path, _ = exported
    sim = Sim2Sim(Policy.load(path), load_clip(clip_path), Sim2SimSettings(push_velocity=0.5))
    assert sim.decimation == 20 and sim.latency_steps == 5 and sim.model.opt.timestep == 0.001
    assert sim.model.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC
    result = sim.episode()
    assert set(result) >= {
        "success",
        "E_h_cm",
        "E_o_cm",
        "fell",
        "joint_limit_hits",
        "max_torque_nm",
    }
    assert np.isfinite(result["E_h_cm"]) and result["max_torque_nm"] <= 139.0 + 1e-6


def test_teleop_keys(exported):
    path, clip_path, _ = exported
    sim = Sim2Sim(Policy.load(path), load_clip(clip_path), QUIET)
    sim.reset(0)
    t = Teleop(sim)
    t.key(GLFW["plus"])
    assert t.speed == 1.25
    t.key(GLFW["right"])
    assert sim.frame == 50.0
    t.key(GLFW["["])
    t.key(GLFW["["])
    assert sim.frame == 0.0  # clamped at the clip's start
    t.key(GLFW["]"])
    assert sim.frame == 50.0
    t.key(GLFW["space"])
    frame = sim.frame
    t.tick()
    assert sim.frame == frame  # paused
    t.key(GLFW["space"])
    t.key(GLFW["e"])
    t.tick()
    assert t.estop and sim.frame == frame  # e-stop: the policy no longer runs
    assert t.status()[1].split("\n")[:2] == ["E-STOP (r resets)", "x1.25"]  # on screen
    t.key(GLFW["r"])
    assert not t.estop and sim.frame == 0.0
    assert t.status()[1].startswith("running")


def test_the_view_is_pinned_against_the_viewers_own_key_toggles():
    """What MuJoCo's viewer does on ``3`` (a goal key here), ``c`` (contact points),
    ``]`` (the next fixed camera) is undone; the robot's group stays visible."""
    import mujoco

    from robots.g1.mjcf import COLLISION_GROUP
    from sim2sim.teleop import PinnedView

    opt, cam = mujoco.MjvOption(), mujoco.MjvCamera()
    opt.geomgroup[COLLISION_GROUP] = 1
    cam.type, cam.trackbodyid = mujoco.mjtCamera.mjCAMERA_TRACKING, 1
    pinned = PinnedView(opt, cam)
    opt.geomgroup[COLLISION_GROUP] = 0
    contacts = mujoco.mjtVisFlag.mjVIS_CONTACTPOINT
    opt.flags[contacts] = 1
    cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
    pinned.restore(opt, cam)
    assert opt.geomgroup[COLLISION_GROUP] == 1 and not opt.flags[contacts]
    assert cam.type == mujoco.mjtCamera.mjCAMERA_TRACKING and cam.trackbodyid == 1


def test_the_viewer_without_a_display_says_so(exported):
    import os

    path, clip_path, _ = exported
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = subprocess.run([sys.executable, str(REPO / "sim2sim/run_mujoco.py"), "--policy",
                          str(path), "--motion", str(clip_path), "--viewer"], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 1 and "no display for the viewer" in out.stderr


def test_harness_runs_without_torch(exported, tmp_path):
    """run_mujoco.py with torch made unimportable: full episodes and a report."""
    path, clip_path, _ = exported
    report = tmp_path / "report.json"
    code = f"""
import runpy, sys

class BlockTorch:  # any attempt to import torch fails
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")

sys.meta_path.insert(0, BlockTorch())
sys.argv = ["run_mujoco.py", "--policy", {str(path)!r}, "--motion", {str(clip_path)!r},
            "--report", {str(report)!r}, "--episodes", "2"]
runpy.run_path({str(REPO / "sim2sim" / "run_mujoco.py")!r}, run_name="__main__")
assert "torch" not in sys.modules
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "episode 1/2: " in out.stderr and "episode 2/2: " in out.stderr  # progress
    assert list(tmp_path.iterdir()) == [report]  # nothing else in the working folder
    data = json.loads(report.read_text())
    assert set(data) >= {
        "success_rate",
        "E_h_cm",
        "E_o_cm",
        "fall_rate",
        "joint_limit_hits",
        "max_torque_nm",
    }


def test_cli_rejects_bad_policy(tmp_path, exported):
    _, clip_path, _ = exported
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nope")
    script = str(REPO / "sim2sim" / "run_mujoco.py")
    cmd = [sys.executable, script, "--policy", str(bad), "--motion", str(clip_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "not a loadable ONNX" in out.stderr
    path, _, _ = exported
    cmd = [sys.executable, script, "--policy", str(path), "--motion", str(clip_path)]
    out = subprocess.run([*cmd, "--episodes", "0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr == "error: --episodes must be at least 1, got 0\n"


def test_state_after_a_step_is_current(exported):
    """What the harness reads after a step equals a fresh forward pass of the same
    positions and velocities (mj_step alone leaves the kinematics one substep old)."""
    path, clip_path, _ = exported
    sim = Sim2Sim(Policy.load(path), load_clip(clip_path), QUIET)
    sim.reset(0)
    for _ in range(3):
        sim.step()
    after = sim.index.from_mjdata(sim.data)
    fresh = mujoco.MjData(sim.model)
    fresh.qpos[:], fresh.qvel[:] = sim.data.qpos, sim.data.qvel
    mujoco.mj_forward(sim.model, fresh)
    expected = sim.index.from_mjdata(fresh)
    for name in ("body_pos", "body_quat", "body_lin_vel", "object_pos", "root_ang_vel"):
        np.testing.assert_allclose(getattr(after, name), getattr(expected, name), atol=1e-12,
                                   err_msg=name)  # fmt: skip


def test_tracked_object_is_the_true_one_seen_late_and_noisy(exported):
    """With a tracker the policy's object comes from the tracker model: exact with a
    perfect tracker, off by about the noise with a noisy one."""
    from contract.tracker import TrackerSettings

    path, clip_path, _ = exported
    errors = {}
    for noise in (0.0, 0.01):
        tracker = TrackerSettings(hz=100.0, latency=0.02, noise=noise)
        settings = Sim2SimSettings(noise=SensorNoise(0.0, 0.0, 0.0), tracker=tracker)
        sim = Sim2Sim(Policy.load(path), load_clip(clip_path), settings)
        sim.reset(0)
        err = []
        for _ in range(25):
            sim.step()
            true = sim.index.from_mjdata(sim.data).object_pos[0]
            err.append(np.linalg.norm(sim.measured_state().object_pos[0] - true))
        errors[noise] = np.mean(err[5:])
    assert errors[0.0] < 2e-3  # a box at rest or moving slowly: extrapolation is exact
    assert 0.005 < errors[0.01] < 0.05


def test_unitrees_simulator_physics_steps_the_sampled_pd_law(exported):
    """``--physics.pd sampled`` (``UNITREE_SIM``) runs every physics step of the hold and
    the policy through the sampled law, which starts afresh at each reset."""
    path, clip_path, _ = exported
    settings = replace(QUIET, physics=UNITREE_SIM, start="standing", hold_s=0.05)
    sim = Sim2Sim(Policy.load(path), load_clip(clip_path), settings)
    assert sim.motors.sampled
    sim.reset(0)
    held = sim.motors.previous[0].copy()  # the hold stepped through the law
    sim.step()
    assert not np.array_equal(sim.motors.previous[0], held)
    sim.reset(0)
    np.testing.assert_array_equal(sim.motors.previous[0], held)  # afresh: the same hold
    continuous = Sim2Sim(Policy.load(path), load_clip(clip_path), QUIET)
    assert not continuous.motors.sampled
