import json

import numpy as np
import pytest

from retarget.metrics import TARGETS
from retarget.motion import HumanMotion, MotionError
from retarget.pipeline import retarget
from retarget.readers import read_motion
from robots.clip import load_clip

ACCEPT = dict(
    hand=TARGETS["hand_object_distance_mean_cm"],
    penetration=TARGETS["object_penetration_frames_frac"],
    sliding=TARGETS["foot_sliding_frac"],
    ground_cm=TARGETS["ground_penetration_max_cm"],
)


def check_basics(m: dict, name: str = "") -> None:
    """Limits, contact distance, sliding and ground."""
    assert m["joint_limit_violations"] == 0, name
    assert m["hand_object_distance_mean_cm"] <= ACCEPT["hand"], name
    assert m["foot_sliding_frac"] <= ACCEPT["sliding"], name
    assert m["ground_penetration_max_cm"] <= ACCEPT["ground_cm"], name


def check_quality(metrics: dict) -> None:
    check_basics(metrics)
    assert metrics["object_penetration_frames_frac"] <= ACCEPT["penetration"]


def test_synthetic_end_to_end(short_synthetic, tmp_path):
    """The embedded default: no dataset needed."""
    result = retarget(short_synthetic)
    check_quality(result.metrics)
    clip = load_clip(result.clip.save(tmp_path / "clip.npz"))
    assert clip.num_frames == short_synthetic.num_frames and clip.fps == 30.0
    assert clip.contact_of("left_hand").sum() > 20 and clip.contact_of("left_foot").sum() > 20
    assert clip.object == short_synthetic.object
    # Hands reach the box in contact frames and the robot lifts it above the floor.
    assert result.metrics["hand_contact_frames"] > 20
    assert clip.object_pos[:, 2].max() > 0.5
    # Joint speeds stay within the motors' limits.
    from robots import g1

    speed = np.abs(np.diff(clip.joint_pos, axis=0)) * clip.fps
    assert np.all(speed <= g1.VELOCITY_LIMIT + 1e-6)
    json.dumps(result.metrics)  # serializable


def test_missing_joints_are_named(short_synthetic):
    keep = [i for i, n in enumerate(short_synthetic.joint_names) if n != "L_Knee"]
    m = HumanMotion(
        fps=short_synthetic.fps,
        joint_names=tuple(short_synthetic.joint_names[i] for i in keep),
        positions=short_synthetic.positions[:, keep],
        object_pos=short_synthetic.object_pos,
        object_quat=short_synthetic.object_quat,
        object=short_synthetic.object,
    )
    with pytest.raises(MotionError, match="L_Knee"):
        retarget(m)


def check_clip_targets(m: dict, name: str) -> None:
    """The per-clip targets: the basics, self-penetration, stance foot height and joint
    speed."""
    check_basics(m, name)
    assert m["self_penetration_max_cm"] <= 1.0, name
    for key in ("stance_foot_height_median_cm", "stance_foot_height_max_cm",
                "max_joint_velocity_frac_of_limit"):  # fmt: skip
        assert m[key] <= TARGETS[key], (name, key, m[key])


def test_real_clip(shared):
    path = shared / "data/interact_omomo/motions/sub8_smallbox_000.pt"
    m = retarget(read_motion(path, shared / "data/interact_omomo/objects")).metrics
    check_quality(m)
    check_clip_targets(m, path.name)


@pytest.mark.slow
def test_all_shared_clips_meet_the_targets(shared):
    """Acceptance on the 15 OMOMO clips: per clip the targets; object penetration
    over all frames (the overhead-chair clips exceed 5 % on their own, see
    docs/retargeting.md). Slow: the default run checks one clip
    (``test_real_clip``)."""
    folder = shared / "data/interact_omomo"
    frames = penetrating = 0
    for path in sorted((folder / "motions").glob("*.pt")):
        m = retarget(read_motion(path, folder / "objects")).metrics
        check_clip_targets(m, path.name)
        frames += m["frames"]
        penetrating += m["object_penetration_frames_frac"] * m["frames"]
    assert penetrating / frames <= ACCEPT["penetration"]
