"""Stance feet on the floor: the stance foot height metric and the retargeted feet."""

import numpy as np
import pytest

from retarget.metrics import compute_metrics, misses
from retarget.pipeline import _sole_points
from robots import g1
from robots.clip import MotionClip
from robots.objects import ObjectSpec


def standing(lift: float, stance: tuple[int, int] = (1, 1)) -> MotionClip:
    """The default pose, root raised by ``lift`` m, feet labelled as ``stance``."""
    t = 3
    contact = np.zeros((t, 5), np.uint8)
    contact[:, 2:4] = stance
    return MotionClip(
        fps=30.0, root_pos=np.tile([0.0, 0.0, g1.DEFAULT_ROOT_HEIGHT + lift], (t, 1)),
        root_quat=np.tile([1.0, 0, 0, 0], (t, 1)), joint_pos=np.tile(g1.DEFAULT_POS, (t, 1)),
        object_pos=np.tile([3.0, 0.0, 0.1], (t, 1)), object_quat=np.tile([1.0, 0, 0, 0], (t, 1)),
        object=ObjectSpec("b", "box", (0.2, 0.2, 0.2), mass=1.0), contact=contact, source={},
    )  # fmt: skip


def metrics(clip: MotionClip) -> dict:
    kp = np.zeros((clip.num_frames, 1, 3))
    return compute_metrics(clip, kp, kp, np.zeros((clip.num_frames, 2), bool))


def sole_height(clip: MotionClip) -> float:
    """Lowest foot point at frame 0 from the parameter table's capsules (the pipeline's
    floor check, independent of the metric's MuJoCo geometry)."""
    return float(_sole_points(clip)[0])


def test_stance_foot_height_is_the_lowest_capsule_point():
    base = metrics(standing(0.0))
    raised = metrics(standing(0.03))
    assert base["stance_foot_height_median_cm"] == pytest.approx(
        100 * sole_height(standing(0.0)), abs=1e-4
    )
    assert raised["stance_foot_height_max_cm"] - base["stance_foot_height_max_cm"] == (
        pytest.approx(3.0, abs=1e-4)
    )


def test_feet_outside_stance_do_not_count():
    assert metrics(standing(0.05, stance=(0, 0)))["stance_foot_height_max_cm"] == 0.0
    assert metrics(standing(0.05, stance=(1, 0)))["stance_foot_height_max_cm"] == pytest.approx(
        100 * sole_height(standing(0.05)), abs=1e-4
    )


def test_misses_names_the_targets_a_clip_exceeds():
    m = metrics(standing(0.03))
    assert "stance_foot_height_max_cm" in misses(m)
    assert "stance_foot_height_max_cm" not in misses(metrics(standing(0.0)))


def test_a_human_on_higher_ankles_retargets_with_stance_feet_on_the_floor(short_synthetic):
    """The human's ankles sit 6 cm higher than the G1's in stance (a taller foot, or a
    capture floor offset): the body is lowered to the G1's floor, not left hovering."""
    from dataclasses import replace

    from retarget.pipeline import retarget

    raised = replace(short_synthetic, positions=short_synthetic.positions + [0.0, 0.0, 0.06])
    m = retarget(raised).metrics
    level = retarget(short_synthetic).metrics
    assert m["foot_contact_frames"] > 0
    assert m["stance_foot_height_median_cm"] <= 0.5
    # The synthetic crouch lifts a heel the G1's ankle cannot follow flat; raised or
    # not, the same frames.
    assert m["stance_foot_height_max_cm"] <= level["stance_foot_height_max_cm"] + 0.2
    assert m["keypoint_error_mean_cm"] <= level["keypoint_error_mean_cm"] + 1.0
