import numpy as np
import pytest

from retarget.contacts import blend_weights, clean, segments
from retarget.hands import push_out, to_surface
from retarget.scaling import human_skeletal_height, robot_skeletal_height, scale_factor
from retarget.synthetic import SyntheticConfig, synthetic_motion
from robots.objects import ObjectSpec, convex_planes, signed_distance

BOX = ObjectSpec("b", "box", (0.4, 0.2, 0.2), mass=1.0)


def test_segments_clean_and_blend():
    m = np.array([0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1], bool)
    assert segments(m) == [(1, 3), (4, 8), (11, 12)]
    cleaned = clean(m, 3)
    assert segments(cleaned) == [(1, 8)]  # 1-frame gap filled, 1-frame contact dropped
    w = blend_weights(np.array([0, 0, 0, 1, 1, 0, 0, 0], bool), 2)
    np.testing.assert_allclose(w, [0, 1 / 3, 2 / 3, 1, 1, 2 / 3, 1 / 3, 0])


def test_points_move_to_the_surface_with_offset():
    parts = convex_planes(BOX)
    pts = np.array([[0.0, 0.05, 0.0], [0.0, 0.3, 0.0], [0.3, 0.0, 0.0]])
    moved, normals = to_surface(parts, pts, 0.05)
    np.testing.assert_allclose(moved[0], [0.0, 0.15, 0.0], atol=1e-9)  # inside -> out the +y face
    np.testing.assert_allclose(moved[1], [0.0, 0.15, 0.0], atol=1e-9)  # outside -> onto the face
    np.testing.assert_allclose(moved[2], [0.25, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(normals[:2], [[0, 1, 0], [0, 1, 0]], atol=1e-9)
    sd, _ = signed_distance(parts, pts)
    np.testing.assert_allclose(sd, [-0.05, 0.2, 0.1], atol=1e-9)


def test_push_out_only_moves_near_points():
    parts = convex_planes(BOX)
    ident = np.tile([1.0, 0, 0, 0], (2, 1))
    pos = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    pts = np.array([[1.0, 0.0, 0.0], [1.0, 0.5, 0.0]])  # at the centre; far away
    out = push_out(parts, pts, pos, ident, 0.02)
    assert np.linalg.norm(out[0] - pos[0]) > 0.1 - 1e-9  # pushed out of the box
    np.testing.assert_allclose(out[1], pts[1])


def test_height_based_scale():
    tall = synthetic_motion(SyntheticConfig(height=1.9))
    short = synthetic_motion(SyntheticConfig(height=1.5))
    ratio = human_skeletal_height(tall) / human_skeletal_height(short)
    assert ratio == pytest.approx(1.9 / 1.5)
    assert 1.0 < robot_skeletal_height() < 1.3
    assert abs(scale_factor(short) * human_skeletal_height(short) - robot_skeletal_height()) < 1e-9
    assert scale_factor(short, fixed=0.7) == 0.7
