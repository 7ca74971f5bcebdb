"""The tracker topic's codec and the node's tracked body: velocity from consecutive
captures, the pose extrapolated over latency and age, stale and invalid samples."""

import numpy as np
import pytest

from contract.leg_odometry import OdometryTrail
from contract.tracker import TrackedBody
from deploy.protocol.messages import MessageError
from deploy.protocol.tracking import TRACKED_LAYOUT, TrackedPose_, tracked_pose
from robots import quat


def test_wire_bytes_equal_cyclonedds_serializer_both_ways():
    rng = np.random.default_rng(0)
    for _ in range(5):
        pos, q = rng.normal(size=3), quat.normalize(rng.normal(size=4))
        msg = tracked_pose(float(rng.uniform(0, 100)), 1, pos, q, valid=bool(rng.integers(2)))
        reference = TrackedPose_(stamp=float(msg["stamp"]), position=pos.tolist(),
                                 quaternion=q.tolist(), body=1,
                                 valid=int(msg["valid"])).serialize()  # fmt: skip
        assert TRACKED_LAYOUT.to_cdr(msg) == reference
        assert TRACKED_LAYOUT.from_cdr(reference).tobytes() == msg.tobytes()
    with pytest.raises(MessageError, match="not a TrackedPose"):
        TRACKED_LAYOUT.from_cdr(b"\x00\x01\x00\x00" + bytes(60))


def turning(t: float) -> tuple[np.ndarray, np.ndarray]:
    """A body moving at (0.5, 0, 0.1) m/s and turning at 1 rad/s about z."""
    return np.array([0.5 * t, 0.0, 0.1 * t]), quat.from_axis_angle(np.array([0, 0, 1.0]), t)


def test_the_pose_is_extrapolated_over_latency_and_age():
    body = TrackedBody(latency=0.03)
    for t in (0.0, 0.01, 0.02):
        body.add(t, *turning(t), received=t + 0.03)
    # At node time 0.06 the latest capture (0.02) is 0.01 s old and was taken 0.03 before
    # it arrived: the body is where it is at t = 0.06.
    pos, q, lin, ang = body.pose(now=0.06)
    want_pos, want_q = turning(0.06)
    np.testing.assert_allclose(pos, want_pos, atol=1e-9)
    np.testing.assert_allclose(np.abs(np.dot(q, want_q)), 1.0, atol=1e-9)
    np.testing.assert_allclose(lin, [0.5, 0.0, 0.1], atol=1e-9)
    np.testing.assert_allclose(ang, [0.0, 0.0, 1.0], atol=1e-9)
    assert body.age(0.06) == pytest.approx(0.01)


def test_a_late_pelvis_is_carried_to_now_by_leg_odometry():
    body, trail = TrackedBody(latency=0.03), OdometryTrail()
    for t in (0.0, 0.01, 0.02):
        body.add(t, *turning(t), received=t + 0.03)
    fitted = body.pose(now=0.05)[0]
    # no odometry back to the capture (0.02): the fitted velocity carries it
    np.testing.assert_allclose(body.carried(0.05, trail), fitted, atol=1e-12)
    for t in (0.0, 0.02, 0.04):
        trail.add(t, [2.0, 0.0, 0.0])
    np.testing.assert_allclose(body.carried(0.05, trail), turning(0.02)[0] + [0.06, 0.0, 0.0],
                               atol=1e-9)  # fmt: skip


def test_old_repeated_and_first_samples():
    body = TrackedBody(latency=0.0)
    assert body.age(1.0) == np.inf
    body.add(1.0, *turning(1.0), received=1.0)
    np.testing.assert_allclose(body.pose(1.5)[2], 0.0)  # one capture: no velocity yet
    body.add(0.5, *turning(0.5), received=1.1)  # older than the latest: ignored
    body.add(1.0, *turning(1.0), received=1.2)  # repeated: ignored
    assert body.age(1.3) == pytest.approx(0.3)
    body.add(3.0, *turning(3.0), received=3.0)  # after a gap: no velocity across it
    np.testing.assert_allclose(body.pose(3.0)[2], 0.0)


def test_the_simulated_tracker_captures_at_its_rate_and_delivers_late():
    from contract.tracker import OBJECT, SimulatedTracker, TrackerSettings

    tracker = SimulatedTracker(TrackerSettings(hz=100.0, latency=0.03, noise=0.0, dropout=0.0),
                               np.random.default_rng(0))  # fmt: skip
    delivered = []
    for k in range(1000):  # 1 s at 1 kHz, the object moving at 1 m/s
        t = k / 1000
        tracker.capture(t, {OBJECT: (np.array([t, 0.0, 0.0]), np.array([1.0, 0, 0, 0]))})
        delivered += [(t, *sample) for sample in tracker.due(t)]
    assert len(delivered) == 97  # captures at 0, 0.01, ... arrived by 0.999
    for arrival, stamp, body, pos, _, valid in delivered:
        assert arrival == pytest.approx(stamp + 0.03, abs=1e-9) and valid and body == OBJECT
        assert pos[0] == pytest.approx(stamp)


def test_lost_captures_and_noise():
    from contract.tracker import PELVIS, SimulatedTracker, TrackerSettings

    tracker = SimulatedTracker(TrackerSettings(hz=1000.0, latency=0.0, noise=0.005,
                                               dropout=0.2), np.random.default_rng(1))  # fmt: skip
    samples = []
    for k in range(4000):
        tracker.capture(k / 1000, {PELVIS: (np.zeros(3), np.array([1.0, 0, 0, 0]))})
        samples += tracker.due(k / 1000)
    valid = np.array([s[4] for s in samples])
    errors = np.array([s[2] for s in samples])
    assert abs(1 - valid.mean() - 0.2) < 0.03
    assert abs(errors.std() - 0.005) < 0.0005


def fed(body, times, jump=None, stamp_shift=0.0):
    """Captures of the turning body at ``times`` (stamps shifted by ``stamp_shift``),
    received 10 ms after each; ``jump``: added to the positions."""
    used = []
    for t in times:
        pos, q = turning(t)
        used.append(body.add(t + stamp_shift, pos + (0 if jump is None else jump), q, t + 0.01))
    return used


@pytest.mark.parametrize(
    ("stamp", "position", "quaternion", "reason"),
    [
        (np.nan, [0.0, 0, 0], [1.0, 0, 0, 0], "not finite"),
        (0.05, [np.nan, 0, 0], [1.0, 0, 0, 0], "not finite"),
        (0.05, [0.0, 0, 0], [0.0, 0, 0, 0], "not a unit quaternion"),
        (0.05, [0.0, 0, 0], [2.0, 0, 0, 0], "not a unit quaternion"),
        (1e6, [0.0, 0, 0], [1.0, 0, 0, 0], "stamp ahead of the clock"),
        (0.01, [0.0, 0, 0], [1.0, 0, 0, 0], "stamp not after the last"),
        (0.05, [1.0, 0, 0], [1.0, 0, 0, 0], "implausible jump"),
    ],
)
def test_a_bad_sample_is_dropped_counted_and_changes_nothing(stamp, position, quaternion, reason):
    body = TrackedBody(latency=0.0)
    assert all(fed(body, (0.0, 0.01, 0.02, 0.03, 0.04)))
    before = body.pose(0.06)
    assert not body.add(stamp, position, quaternion, received=0.055)
    assert body.dropped == {reason: 1}
    for a, b in zip(body.pose(0.06), before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(fed(body, (0.05, 0.06)))  # and the next good samples are used


def test_a_tracker_restart_and_a_moved_object_are_recovered():
    body = TrackedBody(latency=0.0)
    fed(body, np.arange(10) * 0.01)
    # The tracker restarts its clock at 0 (stamps behind the last): after a few
    # consistent captures the body starts again from them.
    used = fed(body, 0.1 + np.arange(10) * 0.01, stamp_shift=-0.1)
    assert not any(used[: TrackedBody.RESTART_AFTER - 1]) and all(used[TrackedBody.RESTART_AFTER :])
    np.testing.assert_allclose(body.pose(0.2)[2], [0.5, 0.0, 0.1], atol=1e-6)
    # The object is really 1 m away now: the same.
    used = fed(body, 0.2 + np.arange(10) * 0.01, jump=np.array([1.0, 0, 0]))
    assert all(used[TrackedBody.RESTART_AFTER :])
    np.testing.assert_allclose(body.pose(0.3)[0], turning(0.29)[0] + [1.0, 0, 0], atol=1e-6)


def test_the_capture_buffer_is_bounded():
    body = TrackedBody(latency=0.0, window=1e9)  # a window no stamp leaves
    fed(body, np.arange(1000) * 0.001)
    assert len(body._captures) == TrackedBody.MAX_CAPTURES
