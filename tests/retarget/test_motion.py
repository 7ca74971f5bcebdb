import numpy as np
import pytest

from retarget.motion import HumanMotion, MotionError
from robots import quat


def test_resample_changes_rate_and_keeps_ends(synthetic):
    m = synthetic.resample(50.0)
    assert m.fps == 50.0
    assert m.num_frames == int(np.floor((synthetic.num_frames - 1) / 30.0 * 50.0 + 1e-9)) + 1
    np.testing.assert_allclose(m.positions[0], synthetic.positions[0])
    np.testing.assert_allclose(np.linalg.norm(m.object_quat, axis=1), 1.0, atol=1e-9)
    assert set(np.unique(m.contacts)) <= {-1.0, 1.0}


def test_resample_slerps_rotations(synthetic):
    t = 4
    angles = np.array([0.0, 0.5, 1.0, 1.5])
    q = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), angles)
    m = HumanMotion(
        fps=10.0,
        joint_names=("Pelvis",),
        positions=np.zeros((t, 1, 3)),
        object_pos=np.zeros((t, 3)),
        object_quat=q,
        object=synthetic.object,
    )
    up = m.resample(20.0)
    assert up.num_frames == 7
    np.testing.assert_allclose(quat.yaw(up.object_quat), np.arange(7) * 0.25, atol=1e-9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(positions=np.zeros((10, 3, 3))), "positions"),
        (dict(object_pos=np.zeros((9, 3))), "object_pos"),
        (dict(object_quat=np.zeros((10, 4))), "non-unit"),
        (dict(positions=np.full((10, 2, 3), np.nan)), "NaN"),
        (dict(positions=np.full((10, 2, 3), 1000.0)), "metres"),
        (dict(fps=0.0), "fps"),
        (dict(joint_names=("A", "A")), "duplicates"),
    ],
)
def test_bad_motion_is_named(synthetic, change, message):
    base = dict(
        fps=30.0,
        joint_names=("A", "B"),
        positions=np.zeros((10, 2, 3)),
        object_pos=np.zeros((10, 3)),
        object_quat=np.tile([1.0, 0, 0, 0], (10, 1)),
        object=synthetic.object,
    )
    with pytest.raises(MotionError, match=message):
        HumanMotion(**{**base, **change})
