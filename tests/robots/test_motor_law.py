"""The motors' PD law in simulation: the continuous law is MuJoCo's own step; the sampled
law applies the torque of the previous step's joint state, as Unitree's simulator does."""

from dataclasses import replace

import mujoco
import numpy as np
import pytest

from robots import g1
from robots.g1.mjcf import UNITREE_SIM, pd_gains, set_pd_gains
from robots.motor_law import MotorLaw
from robots.scene import build_scene


def standing(options=UNITREE_SIM):
    model = build_scene([], options=options).compile()
    set_pd_gains(model, *g1.gains("tracking"))
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("default").id)
    data.ctrl[:] = g1.DEFAULT_POS + 0.1
    mujoco.mj_forward(model, data)
    return model, data


def test_the_continuous_law_is_mujocos_step():
    model, data = standing(replace(UNITREE_SIM, pd="continuous"))
    twin = mujoco.MjData(model)
    mujoco.mj_copyData(twin, model, data)
    law = MotorLaw(model, "continuous")
    for _ in range(20):
        law.step(data)
        mujoco.mj_step(model, twin)
    np.testing.assert_array_equal(data.qpos, twin.qpos)


def test_the_sampled_law_applies_the_previous_steps_torque_and_restores_the_actuators():
    model, data = standing()
    gains, bias, limited = (model.actuator_gainprm.copy(), model.actuator_biasprm.copy(),
                            model.actuator_ctrllimited.copy())  # fmt: skip
    joints = model.actuator_trnid[:, 0]
    qa, va = model.jnt_qposadr[joints], model.jnt_dofadr[joints]
    law = MotorLaw(model, "sampled")
    kp, kd = pd_gains(model)
    seen = []
    for _ in range(3):
        seen.append((data.qpos[qa].copy(), data.qvel[va].copy()))
        law.step(data)
        mujoco.mj_forward(model, data)
    # The third step ran on the second step's starting state; the actuator force the
    # step used is what the law computed then (clamped by the motors' torque limits).
    q, dq = seen[1]
    want = np.clip(kp * (data.ctrl - q) - kd * dq, -g1.EFFORT_LIMIT, g1.EFFORT_LIMIT)
    law.previous = seen[1]
    before = mujoco.MjData(model)
    mujoco.mj_copyData(before, model, data)
    law.step(data)
    force = data.actuator_force.copy()
    np.testing.assert_allclose(force, want, atol=1e-9)
    # and not the torque of the current state, which the continuous law would apply
    now = np.clip(kp * (before.ctrl - before.qpos[qa]) - kd * before.qvel[va],
                  -g1.EFFORT_LIMIT, g1.EFFORT_LIMIT)  # fmt: skip
    assert np.abs(force - now).max() > 1e-3
    np.testing.assert_array_equal(model.actuator_gainprm, gains)
    np.testing.assert_array_equal(model.actuator_biasprm, bias)
    np.testing.assert_array_equal(model.actuator_ctrllimited, limited)
    np.testing.assert_array_equal(data.ctrl, before.ctrl)


def test_after_a_restart_the_first_sampled_step_sees_the_current_state():
    model, data = standing()
    law = MotorLaw(model, "sampled")
    law.step(data)
    law.restart()
    assert law.previous is None
    q = data.qpos[model.jnt_qposadr[model.actuator_trnid[:, 0]]].copy()
    law.step(data)
    np.testing.assert_array_equal(law.previous[0], q)


def test_an_unknown_law_is_named():
    model, _ = standing()
    with pytest.raises(ValueError, match="'delayed'"):
        MotorLaw(model, "delayed")
