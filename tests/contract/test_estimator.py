"""The robot-side state estimate from LowState sensor values."""

import numpy as np
import pytest

from contract.estimator import estimate_state
from contract.reference import ReferenceMotions
from robots import g1, quat
from robots.clip import MotionClip
from robots.objects import ObjectSpec


@pytest.fixture(scope="module")
def refs():
    rng = np.random.default_rng(0)
    t = 6
    root_quat = quat.normalize(np.c_[np.ones(t), rng.normal(scale=0.1, size=(t, 3))])
    clip = MotionClip(
        fps=50.0, root_pos=np.c_[0.1 * np.arange(t), np.zeros(t), np.full(t, 0.75)],
        root_quat=root_quat, joint_pos=g1.DEFAULT_POS + rng.normal(scale=0.2, size=(t, 29)),
        object_pos=np.tile([0.5, 0.0, 0.2], (t, 1)), object_quat=np.tile([1.0, 0, 0, 0], (t, 1)),
        object=ObjectSpec("b", "box", (0.3, 0.3, 0.3), mass=2.0), contact=np.zeros((t, 5)),
        source={},
    )  # fmt: skip
    return ReferenceMotions([clip], 50.0)


def test_measured_values_pass_through_and_bodies_follow_the_joints(refs):
    ref, _ = refs.state(np.zeros(1, int), np.array([3]))
    gyro = np.array([0.1, -0.2, 0.3])
    s = estimate_state(ref.joint_pos[0], ref.joint_vel[0] + 1.0, ref.root_quat[0], gyro, ref)
    np.testing.assert_array_equal(s.joint_pos, ref.joint_pos)
    np.testing.assert_array_equal(s.joint_vel, ref.joint_vel + 1.0)
    np.testing.assert_array_equal(s.root_ang_vel, gyro[None])
    # Forward kinematics of the reference's own joints at its root: its key bodies.
    np.testing.assert_allclose(s.body_pos, ref.body_pos, atol=1e-9)
    np.testing.assert_allclose(s.body_quat, ref.body_quat, atol=1e-9)


def test_unmeasured_quantities_come_from_the_reference(refs):
    ref, _ = refs.state(np.zeros(1, int), np.array([2]))
    s = estimate_state(ref.joint_pos[0], ref.joint_vel[0], ref.root_quat[0], np.zeros(3), ref)
    for name in ("root_pos", "object_pos", "object_quat", "object_lin_vel", "object_ang_vel",
                 "body_lin_vel"):  # fmt: skip
        np.testing.assert_array_equal(getattr(s, name), getattr(ref, name), err_msg=name)
    # Without a tracked pelvis its velocity is leg odometry's, from the same sensors.
    from contract.leg_odometry import pelvis_velocity

    odometry = pelvis_velocity(ref.root_quat, ref.joint_pos, ref.joint_vel, np.zeros((1, 3)))
    np.testing.assert_allclose(s.root_lin_vel, odometry, atol=1e-9)
    s.root_pos += 1.0
    assert not np.array_equal(s.root_pos, ref.root_pos)  # copies: the reference is intact


def test_a_tracked_pelvis_places_the_bodies_and_leg_odometry_gives_its_velocity(refs):
    from contract.leg_odometry import pelvis_velocity

    ref, _ = refs.state(np.zeros(1, int), np.array([3]))
    at = ref.root_pos[0] + [0.1, -0.2, 0.05]
    s = estimate_state(ref.joint_pos[0], ref.joint_vel[0], ref.root_quat[0], np.zeros(3), ref,
                       pelvis_position=at)  # fmt: skip
    np.testing.assert_allclose(s.root_pos[0], at)
    np.testing.assert_allclose(s.body_pos - at, ref.body_pos - ref.root_pos[:, None], atol=1e-9)
    odometry = pelvis_velocity(ref.root_quat, ref.joint_pos, ref.joint_vel, np.zeros((1, 3)))
    np.testing.assert_allclose(s.root_lin_vel, odometry, atol=1e-9)


def test_imu_quaternion_is_normalized_and_moves_the_bodies(refs):
    ref, _ = refs.state(np.zeros(1, int), np.array([0]))
    turned = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array([0.5]))[0]
    s = estimate_state(ref.joint_pos[0], ref.joint_vel[0], 3.0 * turned, np.zeros(3), ref)
    np.testing.assert_allclose(s.root_quat[0], turned, atol=1e-12)
    # The pelvis turned 0.5 rad about z: every key body turned about the pelvis with it.
    upright = estimate_state(ref.joint_pos[0], ref.joint_vel[0], [1.0, 0, 0, 0], np.zeros(3), ref)
    rotated = quat.rotate(turned, upright.body_pos[0] - ref.root_pos[0]) + ref.root_pos[0]
    np.testing.assert_allclose(s.body_pos[0], rotated, atol=1e-9)
