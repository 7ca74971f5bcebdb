from dataclasses import replace

import numpy as np

from contract.state import HoiState
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
    for k in range(6):
        seen = delay.observe(accelerating(k / hz))
    now = 5 / hz
    np.testing.assert_allclose(seen.object_pos[0], accelerating(now).object_pos[0])
    for sim, steps in ((1, 1), (2, 2)):
        late = accelerating(now - steps / hz)
        expected = late.object_pos[0] + late.object_lin_vel[0] * steps / hz
        np.testing.assert_allclose(seen.object_pos[sim], expected)
        # The residual is the acceleration the extrapolation cannot know: a t^2 / 2.
        residual = accelerating(now).object_pos[0, 0] - seen.object_pos[sim, 0]
        assert np.isclose(residual, 0.25 * (steps / hz) ** 2)
        # Constant turning: the extrapolated orientation is exact.
        np.testing.assert_allclose(seen.object_quat[sim], accelerating(now).object_quat[0],
                                   atol=1e-12)  # fmt: skip
    assert not seen.joint_pos.any()  # only the object is late


def test_a_tracked_pelvis_arrives_as_late_as_the_object():
    hz = 50.0
    delay = TrackerDelay(2, most_steps=2, control_hz=hz, pelvis=True)
    delay.restart(np.arange(2), np.array([0, 2]))
    for k in range(4):  # the pelvis walks on at 0.3 m/s, then turns back at -0.2 m/s
        t = k / hz
        x, v = (0.3 * t, 0.3) if k < 3 else (0.3 * 2 / hz - 0.2 / hz, -0.2)
        moving = replace(accelerating(t, 2), root_pos=np.tile([x, 0.0, 0.75], (2, 1)),
                         root_lin_vel=np.tile([v, 0.0, 0.0], (2, 1)))  # fmt: skip
        seen = delay.observe(moving)
    np.testing.assert_allclose(seen.root_pos[0], moving.root_pos[0])  # no latency
    # Two steps late: where it was at k = 1, moved on at that velocity (0.3 m/s).
    np.testing.assert_allclose(seen.root_pos[1], [0.3 / hz + 0.3 * 2 / hz, 0.0, 0.75])
    np.testing.assert_allclose(seen.root_lin_vel[1], [0.3, 0.0, 0.0])
    assert not seen.root_quat[:, 1:].any()  # the orientation stays the IMU's


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
