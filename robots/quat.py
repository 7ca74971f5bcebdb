"""Quaternion helpers. Convention everywhere in this project: (w, x, y, z), Hamilton
product, active rotation of vectors from the body frame to the world frame.

Pinocchio's configuration vector and InterAct files store (x, y, z, w); convert at the
boundary with :func:`wxyz_to_xyzw` / :func:`xyzw_to_wxyz`.
"""

from __future__ import annotations

import numpy as np

from common.array_namespace import as_float, constant, like, namespace, readonly


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    return np.concatenate([q[..., 1:], q[..., :1]], axis=-1)


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    return np.concatenate([q[..., 3:], q[..., :3]], axis=-1)


# The functions down to ``log`` take numpy arrays or torch tensors (common.array_namespace):
# the observation, reward and termination terms use them in training and on the robot.
# The product and the rotation are bilinear and quadratic forms: one matrix product with
# a constant each instead of dozens of per-component operations, which is what a step
# costs on a GPU (each operation a launch), and 2-3.5x faster in numpy on one robot.


def _left_matrix(w, x, y, z) -> list[list[float]]:
    """The matrix L(q) with q ⊗ p = L(q) p (linear in q)."""
    return [[w, -x, -y, -z], [x, w, -z, y], [y, z, w, -x], [z, -y, x, w]]


# L(q) = q @ _LEFT (reshaped to 4 x 4): L of each basis quaternion
_LEFT = readonly(np.array([_left_matrix(*e) for e in np.eye(4)]).reshape(4, 16))


def normalize(q):
    xp = namespace(q)
    q = as_float(q, xp)
    return q / xp.linalg.vector_norm(q, axis=-1, keepdims=True)


def multiply(a, b):
    xp = namespace(a, b)
    a, b = as_float(a, xp), as_float(b, xp)
    left = xp.reshape(a @ constant(_LEFT, a), (*a.shape[:-1], 4, 4))
    # products and a sum rather than a batched matmul of 4-vectors: fewer torch operations
    return xp.sum(left * b[..., None, :], axis=-1)


_CONJUGATE = readonly(np.array([1.0, -1.0, -1.0, -1.0]))


def conjugate(q):
    q = as_float(q)
    return q * constant(_CONJUGATE, q)


def _sandwich_columns() -> np.ndarray:
    """(16, 9): row 4j + k holds vec(e_j ⊗ (0, e_c) ⊗ e_k*) at column 3r + c for row r,
    so that the rotation matrix is outer(q, q) flattened times this."""
    e = np.eye(4)
    cols = [[multiply(multiply(e[j], e[1 + c]), conjugate(e[k]))[1:] for c in range(3)]
            for j in range(4) for k in range(4)]  # fmt: skip
    return np.array(cols).transpose(0, 2, 1).reshape(16, 9)


_ROTATION = readonly(_sandwich_columns())
# the x and y columns, column after column: (R00, R10, R20, R01, R11, R21)
_FIRST_TWO_COLUMNS = readonly(_ROTATION[:, [0, 3, 6, 1, 4, 7]])


def _outer(q):
    """(..., 16): every product q_j q_k of each quaternion's components."""
    xp = namespace(q)
    q = as_float(q, xp)
    return xp.reshape(q[..., :, None] * q[..., None, :], (*q.shape[:-1], 16))


def matrix(q):
    """Rotation matrices (..., 3, 3) of unit quaternions (q v q*, a quadratic form in q)."""
    outer = _outer(q)
    return namespace(q).reshape(outer @ constant(_ROTATION, outer), (*q.shape[:-1], 3, 3))


def to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices of quaternions of any norm (normalized first)."""
    return matrix(normalize(q))


def rotate(q, v):
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4)."""
    xp = namespace(q, v)
    return xp.sum(matrix(as_float(q, xp)) * as_float(v, xp)[..., None, :], axis=-1)


def from_axis_angle(axis, angle):
    xp = namespace(axis, angle)
    angle = as_float(angle, xp)
    axis = like(axis, angle)
    axis = axis / xp.linalg.vector_norm(axis, axis=-1, keepdims=True)
    half = 0.5 * angle[..., None]
    return xp.concat([xp.cos(half), xp.sin(half) * axis], axis=-1)


def first_two_columns(q):
    """The rotation matrix's x and y columns (..., 6): a continuous rotation encoding."""
    outer = _outer(q)
    return outer @ constant(_FIRST_TWO_COLUMNS, outer)


def yaw(q):
    """Heading angle (rotation about world z) of each quaternion."""
    xp = namespace(q)
    q = normalize(q)
    w, x, y, z = (q[..., i] for i in range(4))
    return xp.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def log(q):
    """Rotation vector (axis * angle, shortest arc) of each quaternion."""
    xp = namespace(q)
    q = normalize(q)
    q = xp.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    s = xp.linalg.vector_norm(v, axis=-1, keepdims=True)
    angle = 2.0 * xp.atan2(s, q[..., :1])
    scale = xp.where(s > 1e-12, angle / xp.clip(s, min=1e-12), 2.0)
    return v * scale


def angular_velocity(q: np.ndarray, dt: float) -> np.ndarray:
    """World-frame angular velocity of a (T, 4) quaternion sequence, central differences
    inside, one-sided at the ends (same stencil as ``np.gradient``)."""
    q = normalize(q)
    if len(q) < 2:
        return np.zeros((len(q), 3))
    step = log(multiply(q[1:], conjugate(q[:-1]))) / dt  # velocity between frames
    out = np.empty((len(q), 3))
    out[0], out[-1] = step[0], step[-1]
    out[1:-1] = 0.5 * (step[1:] + step[:-1])
    return out


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between quaternions ``a`` and ``b`` (broadcast) at ``t``."""
    a, b = normalize(a), normalize(b)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)  # shortest arc
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    near = sin < 1e-8
    wa = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(near, 1.0, sin))
    wb = np.where(near, t, np.sin(t * theta) / np.where(near, 1.0, sin))
    return normalize(wa * a + wb * b)


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Quaternion (w, x, y, z) with w >= 0 of each rotation matrix (..., 3, 3)."""
    m = np.asarray(m, dtype=np.float64)
    from scipy.spatial.transform import Rotation

    flat = m.reshape(-1, 3, 3)
    q = xyzw_to_wxyz(Rotation.from_matrix(flat).as_quat())
    q = np.where(q[:, :1] < 0, -q, q)
    return q.reshape(*m.shape[:-2], 4)
