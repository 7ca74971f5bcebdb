import mujoco
import numpy as np
import pytest

from contract.leg_odometry import OdometryTrail, pelvis_velocity
from robots import g1
from robots.g1.mjcf import g1_spec


def test_the_pelvis_moves_as_the_planted_foot_says():
    """Random poses and rates in MuJoCo, the pelvis given the velocity that holds the
    lower foot still: the estimate from the joints, the IMU and the gyro is that velocity."""
    model = g1_spec().compile()
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    for _ in range(5):
        data.qpos[:] = model.qpos0
        data.qpos[3:7] = rng.normal(size=4) * [1.0, 0.1, 0.1, 1.0]
        data.qpos[3:7] /= np.linalg.norm(data.qpos[3:7])
        data.qpos[7:] = g1.DEFAULT_POS + rng.normal(scale=0.2, size=29)
        data.qvel[:] = rng.normal(scale=0.5, size=model.nv)
        data.qvel[:3] = 0.0
        mujoco.mj_forward(model, data)
        feet = [model.body(f"{s}_ankle_roll_link").id for s in ("left", "right")]
        lower = feet[int(np.argmin(data.xpos[feet, 2]))]
        foot = np.zeros(6)
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, lower, foot, 0)
        # (taken at the body's centre of mass: moved to its frame's origin)
        origin = foot[3:] + np.cross(foot[:3], data.xpos[lower] - data.xipos[lower])
        # The free joint's linear velocity moves every body alike: this one stills the foot.
        expected = -origin
        estimate = pelvis_velocity(data.qpos[None, 3:7], data.qpos[None, 7:],
                                   data.qvel[None, 6:], data.qvel[None, 3:6])  # fmt: skip
        assert estimate.shape == (1, 3)
        np.testing.assert_allclose(estimate[0], expected, atol=1e-5)


def test_standing_still_in_the_default_pose_reads_zero():
    out = pelvis_velocity(np.array([[1.0, 0, 0, 0]]), g1.DEFAULT_POS[None], np.zeros((1, 29)),
                          np.zeros((1, 3)))  # fmt: skip
    np.testing.assert_allclose(out, 0.0, atol=1e-12)


def test_the_trail_integrates_each_velocity_until_the_next_and_knows_its_gaps():
    trail = OdometryTrail()
    assert trail.moved(0.0, 0.1) is None  # nothing yet
    for t, v in ((0.00, 1.0), (0.02, 2.0), (0.04, 3.0)):
        trail.add(t, [v, 0.0, -v])
    # from 0.01: half a step at 1, a step at 2, then 3 until now
    np.testing.assert_allclose(trail.moved(0.01, 0.05), [0.01 + 0.04 + 0.03, 0.0, -0.08])
    np.testing.assert_allclose(trail.moved(0.05, 0.05), 0.0)
    assert trail.moved(-0.01, 0.05) is None  # before the trail begins
    assert trail.moved(0.01, 0.04 + OdometryTrail.MAX_GAP + 0.01) is None  # no step for long
    trail.add(0.2, [9.0, 0.0, 0.0])  # steps stopped and started again
    assert trail.moved(0.03, 0.21) is None and trail.moved(0.2, 0.21)[0] == pytest.approx(0.09)
    trail.add(0.2 + OdometryTrail.SPAN + 0.01, [0.0, 0.0, 0.0])
    assert trail.moved(0.1, 0.75) is None  # older velocities are dropped
