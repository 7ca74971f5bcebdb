from dataclasses import replace

import numpy as np

from contract.leg_odometry import OdometryTrail
from contract.state import KEY_BODIES, HoiState
from contract.tracker import TrackedBody, extrapolate
from robots import quat
from tests.states import resting_state
from training.tracker_delay import TrackerDelay


def accelerating(t: float, n: int = 3) -> HoiState:
    """The object at time t, accelerating along x (0.5 m/s^2) and turning about z."""
    pos = np.tile([0.25 * t * t, 0.1, 0.3], (n, 1))
    yaw = 0.5 * t
    q = np.tile([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)], (n, 1))
    return replace(resting_state(n), object_pos=pos, object_quat=q,
                   object_lin_vel=np.tile([0.5 * t, 0.0, 0.0], (n, 1)),
                   object_ang_vel=np.tile([0.0, 0.0, 0.5], (n, 1)))  # fmt: skip


def test_each_simulation_sees_the_object_its_latency_ago_extrapolated():
    hz = 50.0
    delay = TrackerDelay(3, most_steps=2, control_hz=hz)
    delay.restart(np.arange(3), np.array([0, 1, 2]))
    for k in range(10):
        seen = delay.observe(accelerating(k / hz))
    now = 9 / hz
    for sim, steps in ((0, 0), (1, 1), (2, 2)):
        late = accelerating(now - steps / hz)
        # The node's velocity: the mean over its 0.1 s window, the velocity at its middle.
        mean = 0.5 * (now - steps / hz - 0.05)
        np.testing.assert_allclose(seen.object_lin_vel[sim], [mean, 0.0, 0.0], atol=1e-12)
        np.testing.assert_allclose(seen.object_pos[sim],
                                   late.object_pos[0] + [mean * steps / hz, 0.0, 0.0])  # fmt: skip
        # The residual: the acceleration the extrapolation cannot know, and the window's lag.
        residual = accelerating(now).object_pos[0, 0] - seen.object_pos[sim, 0]
        assert np.isclose(residual, 0.25 * (steps / hz) ** 2 + 0.5 * 0.05 * steps / hz)
        # Constant turning: the extrapolated orientation is exact.
        np.testing.assert_allclose(seen.object_quat[sim], accelerating(now).object_quat[0],
                                   atol=1e-12)  # fmt: skip
        np.testing.assert_allclose(seen.object_ang_vel[sim], [0.0, 0.0, 0.5], atol=1e-12)
    assert not seen.joint_pos.any()  # only the object is late


def test_the_velocity_lags_as_the_nodes_line_fit_does():
    """The node's fit through 100 Hz captures of an accelerating body gives the velocity
    training gives it from its 50 Hz states."""
    body = TrackedBody(latency=0.0)
    q = np.array([1.0, 0.0, 0.0, 0.0])
    for k in range(20):
        t = 0.01 * k
        body.add(t, accelerating(t, 1).object_pos[0], q, received=t)
    _, _, lin, _ = body.pose(now=0.19)
    delay = TrackerDelay(1, most_steps=0, control_hz=50.0)
    for k in range(10):
        seen = delay.observe(accelerating(0.01 + 0.02 * k, 1))
    np.testing.assert_allclose(seen.object_lin_vel[0], lin, atol=1e-9)


def walking(t: float, n: int = 2) -> HoiState:
    """The pelvis walking on at 0.3 m/s along x, its feet slipping at 0.1 + t m/s: leg
    odometry (the truth less the stance foot's motion) says 0.2 - t."""
    feet = np.zeros((n, len(KEY_BODIES), 3))
    feet[..., 0] = 0.1 + t
    return replace(accelerating(t, n), root_pos=np.tile([0.3 * t, 0.0, 0.75], (n, 1)),
                   root_lin_vel=np.tile([0.3, 0.0, 0.0], (n, 1)), body_lin_vel=feet)  # fmt: skip


def test_a_tracked_pelvis_arrives_late_and_is_carried_on_by_leg_odometry():
    hz = 50.0
    delay = TrackerDelay(2, most_steps=2, control_hz=hz, pelvis=True)
    delay.restart(np.arange(2), np.array([0, 2]))
    for k in range(10):
        seen = delay.observe(walking(k / hz))
    now = 9 / hz
    np.testing.assert_allclose(seen.root_lin_vel, [[0.2 - now, 0.0, 0.0]] * 2, atol=1e-12)
    np.testing.assert_allclose(seen.root_pos[0], walking(now).root_pos[0])  # no latency
    # two steps late: the capture, then each step since at the odometry of its start
    carried = sum(0.2 - (now - j / hz) for j in (1, 2)) / hz
    np.testing.assert_allclose(seen.root_pos[1, 0], 0.3 * (now - 2 / hz) + carried, atol=1e-12)
    assert not seen.root_quat[:, 1:].any()  # the orientation stays the IMU's


def test_the_node_carries_a_tracked_pelvis_as_training_does():
    """The node's capture fit and odometry trail (100 Hz captures 40 ms late, 50 Hz
    policy steps) give the pelvis training gives it two steps late."""
    hz, latency = 50.0, 0.04
    body, trail = TrackedBody(latency), OdometryTrail()
    delay = TrackerDelay(1, most_steps=2, control_hz=hz, pelvis=True)
    delay.restart(np.arange(1), np.array([2]))
    q, captured = np.array([1.0, 0.0, 0.0, 0.0]), 0
    for k in range(12):
        now = k / hz
        while captured / 100 + latency <= now + 1e-9:  # the captures delivered by now
            stamp = captured / 100
            body.add(stamp, walking(stamp, 1).root_pos[0], q, received=stamp + latency)
            captured += 1
        seen = delay.observe(walking(now, 1))
        if k >= 4:  # the node's trail covers the capture's age
            np.testing.assert_allclose(body.carried(now, trail), seen.root_pos[0], atol=1e-12)
        trail.add(now, seen.root_lin_vel[0])


def test_a_restarted_simulation_starts_from_its_new_state():
    delay = TrackerDelay(2, most_steps=2, control_hz=50.0)
    delay.restart(np.arange(2), np.array([2, 2]))
    for k in range(3):
        delay.observe(accelerating(k / 50.0, 2))
    delay.restart(np.array([1]), np.array([2]))
    moved = replace(accelerating(0.06, 2), object_pos=np.array([[0.0, 0, 0], [5.0, 5.0, 5.0]]),
                    object_lin_vel=np.zeros((2, 3)))  # fmt: skip
    seen = delay.observe(moved)
    np.testing.assert_allclose(seen.object_pos[1], [5.0, 5.0, 5.0])  # no history before it
    assert not np.allclose(seen.object_pos[0], 0.0)


def test_the_node_extrapolates_the_same_way():
    body = TrackedBody(latency=0.03)
    q = quat.normalize(np.array([0.9, 0.1, -0.2, 0.3]))
    for k in range(5):  # moving at 0.4 m/s along y, not turning
        body.add(0.01 * k, [0.0, 0.4 * 0.01 * k, 0.2], q, received=0.01 * k + 0.03)
    pos, quat_, lin, ang = body.pose(now=0.07)
    late = extrapolate(np.array([[0.0, 0.4 * 0.04, 0.2]]), q[None], np.array([[0.0, 0.4, 0.0]]),
                       np.zeros((1, 3)), np.array([0.03]))  # fmt: skip
    np.testing.assert_allclose(pos, late[0][0], atol=1e-9)
    np.testing.assert_allclose(quat_, late[1][0], atol=1e-9)
    np.testing.assert_allclose(lin, [0.0, 0.4, 0.0], atol=1e-9)
    np.testing.assert_allclose(ang, 0.0, atol=1e-9)
