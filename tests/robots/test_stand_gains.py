"""The stand gains hold the G1 standing under a PD law alone: computed from the current
state at 1 kHz and at 200 Hz, and under Unitree's simulator's sampled law (from the
previous step's state) at the 2 ms step of its G1 model."""

from dataclasses import replace

import mujoco
import numpy as np
import pytest

from robots import g1
from robots.g1.mjcf import STRICT, UNITREE_SIM, set_pd_gains
from robots.motor_law import MotorLaw
from robots.scene import build_scene


def stand(dt: float, seconds: float = 3.0) -> tuple[float, np.ndarray, int]:
    """Pelvis height at the end, each joint's largest speed over the last half, and the
    torque commands over the effort limit: the default pose from rest under the stand
    gains, the PD torque computed once per step (the model's own motors off)."""
    model = build_scene([], options=replace(STRICT, timestep=dt)).compile()
    set_pd_gains(model, np.zeros(g1.NUM_JOINTS), np.zeros(g1.NUM_JOINTS))
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("default").id)
    q = np.array([model.joint(n).qposadr[0] for n in g1.JOINT_NAMES])
    v = np.array([model.joint(n).dofadr[0] for n in g1.JOINT_NAMES])
    kp, kd = g1.gains("stand")
    steps, late, saturated = round(seconds / dt), np.zeros(g1.NUM_JOINTS), 0
    for k in range(steps):
        tau = kp * (g1.DEFAULT_POS - data.qpos[q]) - kd * data.qvel[v]
        saturated += int(np.sum(np.abs(tau) > g1.EFFORT_LIMIT))
        data.qfrc_applied[v] = np.clip(tau, -g1.EFFORT_LIMIT, g1.EFFORT_LIMIT)
        mujoco.mj_step(model, data)
        if k > steps // 2:
            late = np.maximum(late, np.abs(data.qvel[v]))
    return float(data.qpos[2]), late, saturated


@pytest.mark.parametrize("dt", [0.001, 0.005])
def test_the_stand_gains_hold_the_robot_still_at_1khz_and_200hz(dt):
    height, late, saturated = stand(dt)
    worst = g1.JOINT_NAMES[int(np.argmax(late))]
    assert height > 0.74, height
    assert late.max() < 0.5, f"{worst} still moves at {late.max():.2f} rad/s"
    assert saturated == 0


def test_the_stand_gains_hold_the_robot_under_unitrees_sampled_law_at_2ms():
    """At its shipped 5 ms step that law is unstable for them (docs/robot.md)."""
    model = build_scene([], options=replace(UNITREE_SIM, timestep=0.002)).compile()
    model.dof_armature[6:], model.dof_damping[6:], model.dof_frictionloss[6:] = 0.01, 0.05, 0.2
    set_pd_gains(model, *g1.gains("stand"))
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("default").id)
    data.ctrl[:] = g1.DEFAULT_POS
    law, steps, late = MotorLaw(model, "sampled"), 1500, 0.0
    for k in range(steps):
        law.step(data)
        if k > steps // 2:
            late = max(late, float(np.abs(data.qvel[6:]).max()))
    assert data.qpos[2] > 0.74 and late < 0.5, (data.qpos[2], late)
