import mujoco
import numpy as np
import pytest

from robots import g1
from robots.g1.mjcf import g1_spec


def test_joint_order_is_unitree_motor_order():
    assert g1.NUM_JOINTS == 29
    assert g1.JOINT_NAMES[0] == "left_hip_pitch_joint"
    assert g1.JOINT_NAMES[12:15] == ("waist_yaw_joint", "waist_roll_joint", "waist_pitch_joint")
    assert g1.JOINT_NAMES[15] == "left_shoulder_pitch_joint"
    assert g1.JOINT_NAMES[28] == "right_wrist_yaw_joint"
    assert g1.joint_index("right_knee_joint") == 9


def test_unknown_joint_is_named_in_error():
    with pytest.raises(KeyError, match="left_toe_joint"):
        g1.joint_index("left_toe_joint")


def test_gains_follow_armature_formula():
    kp, kd = g1.gains("tracking")
    w = 2 * np.pi * 10.0
    np.testing.assert_allclose(kp, g1.ARMATURE * w * w)
    np.testing.assert_allclose(kd, 2 * 2.0 * g1.ARMATURE * w)
    # mjlab's published values for the hip pitch (7520-14) and knee (7520-22)
    assert kp[0] == pytest.approx(40.18, abs=0.01) and kd[0] == pytest.approx(2.558, abs=1e-3)
    assert kp[3] == pytest.approx(99.10, abs=0.01) and kd[3] == pytest.approx(6.309, abs=1e-3)
    kp_stand, _ = g1.gains("stand")
    assert np.all(kp_stand > kp)
    with pytest.raises(ValueError, match="unknown gain profile"):
        g1.gains("soft")


def test_limits_and_default_pose():
    assert np.all(g1.JOINT_LOWER < g1.JOINT_UPPER)
    assert np.all((g1.DEFAULT_POS >= g1.JOINT_LOWER) & (g1.DEFAULT_POS <= g1.JOINT_UPPER))
    assert g1.EFFORT_LIMIT[g1.joint_index("left_knee_joint")] == 139
    assert g1.VELOCITY_LIMIT[g1.joint_index("left_wrist_pitch_joint")] == 22


def test_default_root_height_puts_feet_on_the_floor():
    model = g1_spec(actuators=False).compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.mj_kinematics(model, data)
    lowest = np.inf
    for g in range(model.ngeom):
        if "foot" not in model.geom(g).name:
            continue
        axis = data.geom_xmat[g].reshape(3, 3)[:, 2] * model.geom_size[g][1]
        for end in (data.geom_xpos[g] + axis, data.geom_xpos[g] - axis):
            lowest = min(lowest, end[2] - model.geom_size[g][0])
    assert 0.0 <= lowest < 1e-3
