"""Robot self-collision in retargeting: the metric against an independent capsule
computation, the non-penetration pass, and clean synthetic clips."""

import numpy as np
import pytest

from retarget.metrics import compute_metrics
from retarget.penetration import PenetrationCheck
from retarget.pipeline import retarget
from retarget.synthetic import LIFT_IN_PLACE, SyntheticConfig, synthetic_motion
from robots import g1, quat
from robots.clip import MotionClip
from robots.g1.spec import Capsule
from robots.objects import ObjectSpec

BOX = ObjectSpec("b", "box", (0.2, 0.2, 0.2), mass=1.0)
ARM = ("left_shoulder_yaw_link", "left_elbow_link")


def arm_in_torso() -> MotionClip:
    """The default pose with the left arm swung into the torso (shoulder roll -0.3)."""
    joints = g1.DEFAULT_POS.copy()
    joints[g1.joint_index("left_shoulder_roll_joint")] = -0.3
    joints[g1.joint_index("left_shoulder_pitch_joint")] = 0.0
    joints[g1.joint_index("left_elbow_joint")] = 0.0
    t = 2
    return MotionClip(
        fps=30.0, root_pos=np.tile([0.0, 0.0, g1.DEFAULT_ROOT_HEIGHT], (t, 1)),
        root_quat=np.tile([1.0, 0, 0, 0], (t, 1)), joint_pos=np.tile(joints, (t, 1)),
        object_pos=np.tile([3.0, 0.0, 0.1], (t, 1)), object_quat=np.tile([1.0, 0, 0, 0], (t, 1)),
        object=BOX, contact=np.zeros((t, 5), np.uint8), source={},
    )  # fmt: skip


def capsule_depth(clip: MotionClip, a: str, b: str) -> float:
    """Deepest overlap of the capsules of bodies ``a`` and ``b`` (frame 0), from the
    parameter table's capsule segments sampled densely: radius sum minus axis distance."""
    pos, rot = clip.body_pos()[0], clip.body_quat()[0]

    def segments(name: str):
        k = g1.BODY_NAMES.index(name)
        for geom in g1.link(name).geoms:
            ends = np.asarray(geom.fromto).reshape(2, 3) if isinstance(geom, Capsule) else (
                np.tile(geom.pos, (2, 1)))  # fmt: skip
            world = pos[k] + quat.rotate(np.tile(rot[k], (2, 1)), ends)
            s = np.linspace(0, 1, 400)[:, None]
            yield world[0] + s * (world[1] - world[0]), geom.radius

    depth = 0.0
    for pa, ra in segments(a):
        for pb, rb in segments(b):
            gap = np.linalg.norm(pa[:, None] - pb[None], axis=-1).min()
            depth = max(depth, ra + rb - gap)
    return depth


def test_self_penetration_metric_matches_the_capsules():
    clip = arm_in_torso()
    expected = max(capsule_depth(clip, "torso_link", arm) for arm in ARM)
    assert expected > 0.02  # a real overlap of a few cm
    kp = np.zeros((clip.num_frames, 1, 3))
    m = compute_metrics(clip, kp, kp, np.zeros((clip.num_frames, 2), bool))
    assert m["self_penetration_max_cm"] == pytest.approx(100 * expected, abs=0.05)
    assert m["self_penetration_frames_frac"] == 1.0


def test_both_bodies_of_a_self_contact_are_pushed_apart():
    clip = arm_in_torso()
    check = PenetrationCheck(BOX)
    pushes = check.pushes(clip.root_pos[0], clip.root_quat[0], clip.joint_pos[0],
                          clip.object_pos[0], clip.object_quat[0], 100.0, 800.0)  # fmt: skip
    assert {"torso_link", *ARM} <= set(pushes)
    # Robot-robot pushes carry the self weight (escalated per round by the pipeline).
    assert {t.position_weight for t in pushes.values()} == {800.0}
    torso = clip.body_pos()[0, g1.BODY_NAMES.index("torso_link")]
    elbow = pushes["left_elbow_link"]
    # The elbow's target moves it away from the torso's axis (+y, the robot's left).
    assert elbow.position[1] > torso[1]


@pytest.mark.parametrize("cfg", [LIFT_IN_PLACE, SyntheticConfig()], ids=["lift", "walk"])
def test_synthetic_clips_are_clean(cfg):
    motion = synthetic_motion(cfg)
    touch = np.argmax((motion.contacts > 0.5).any(axis=1))
    # The box rests until a hand holds it.
    np.testing.assert_allclose(motion.object_pos[: touch + 1], motion.object_pos[:1].repeat(
        touch + 1, 0))  # fmt: skip
    result = retarget(motion)
    assert result.metrics["self_penetration_max_cm"] <= 1.0
    speed = np.abs(np.diff(result.clip.joint_pos, axis=0)) * result.clip.fps
    assert (speed <= g1.VELOCITY_LIMIT + 1e-6).all()
