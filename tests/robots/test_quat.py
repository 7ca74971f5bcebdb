"""The quaternion helpers against scipy's rotations, in numpy and in torch."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from robots import quat


@pytest.fixture
def rotations():
    rng = np.random.default_rng(0)
    q = quat.normalize(rng.normal(size=(6, 5, 4)))
    p = quat.normalize(rng.normal(size=(6, 5, 4)))
    return q, p, rng.normal(size=(6, 5, 3))


def scipy(q: np.ndarray) -> Rotation:
    return Rotation.from_quat(quat.wxyz_to_xyzw(q.reshape(-1, 4)))


def same_rotation(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    """Equal quaternions up to sign (q and -q are one rotation)."""
    a, b = a.reshape(-1, 4), b.reshape(-1, 4)
    sign = np.sign(np.sum(a * b, axis=1, keepdims=True))
    np.testing.assert_allclose(a, sign * b, atol=atol)


def check(q, p, v, atol: float, out=np.asarray) -> None:
    r = scipy(np.asarray(q, dtype=np.float64))
    rotated = r.apply(np.asarray(v, dtype=np.float64).reshape(-1, 3))
    np.testing.assert_allclose(out(quat.rotate(q, v)).reshape(-1, 3), rotated, atol=atol)
    np.testing.assert_allclose(out(quat.matrix(q)).reshape(-1, 3, 3), r.as_matrix(), atol=atol)
    columns = r.as_matrix()[:, :, :2].transpose(0, 2, 1).reshape(-1, 6)  # x column, y column
    np.testing.assert_allclose(out(quat.first_two_columns(q)).reshape(-1, 6), columns, atol=atol)
    product = r * scipy(np.asarray(p, dtype=np.float64))
    same_rotation(out(quat.multiply(q, p)), quat.xyzw_to_wxyz(product.as_quat()), atol)
    inverse = quat.xyzw_to_wxyz(r.inv().as_quat())
    same_rotation(out(quat.conjugate(q)), inverse, atol)


def test_numpy_helpers_match_scipy(rotations):
    check(*rotations, atol=1e-12)


def test_torch_helpers_match_scipy(rotations):
    torch = pytest.importorskip("torch")
    q, p, v = (torch.as_tensor(a, dtype=torch.float32) for a in rotations)
    check(q, p, v, atol=1e-5, out=lambda t: t.numpy())


def test_rotate_broadcasts_one_rotation_over_many_vectors(rotations):
    q, _, v = rotations
    one = q[:, :1]  # (6, 1, 4) against (6, 5, 3)
    expected = np.stack([scipy(one[i]).apply(v[i]) for i in range(len(v))])
    np.testing.assert_allclose(quat.rotate(one, v), expected, atol=1e-12)


def test_to_matrix_normalizes_first(rotations):
    q = rotations[0]
    np.testing.assert_allclose(quat.to_matrix(3.0 * q), quat.matrix(q), atol=1e-12)
