"""Quaternion helpers. Convention everywhere in this project: (w, x, y, z), Hamilton
product, active rotation of vectors from the body frame to the world frame.

Pinocchio's configuration vector and InterAct files store (x, y, z, w); convert at the
boundary with :func:`wxyz_to_xyzw` / :func:`xyzw_to_wxyz`.
"""

from __future__ import annotations

import numpy as np


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    return np.concatenate([q[..., 1:], q[..., :1]], axis=-1)


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    return np.concatenate([q[..., 3:], q[..., :3]], axis=-1)


def _components(q: np.ndarray) -> tuple[np.ndarray, ...]:
    # Plain indexing: np.moveaxis costs ~15 us a call, which added up to most of the
    # single-robot observation on the deploy node's 2 ms budget.
    return tuple(q[..., i] for i in range(q.shape[-1]))


def normalize(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = _components(np.asarray(a, dtype=np.float64))
    bw, bx, by, bz = _components(np.asarray(b, dtype=np.float64))
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def conjugate(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = _components(normalize(q))
    m = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )  # fmt: skip
    return m.reshape(*m.shape[:-1], 3, 3)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4): v + w t + u x t with
    t = 2 u x v, written out per component (one allocation instead of two np.cross)."""
    w, x, y, z = _components(np.asarray(q, dtype=np.float64))
    vx, vy, vz = _components(np.asarray(v, dtype=np.float64))
    tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
    return np.stack(
        [
            vx + w * tx + y * tz - z * ty,
            vy + w * ty + z * tx - x * tz,
            vz + w * tz + x * ty - y * tx,
        ],
        axis=-1,
    )


def from_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = 0.5 * np.asarray(angle, dtype=np.float64)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def first_two_columns(q: np.ndarray) -> np.ndarray:
    """The rotation matrix's x and y columns (..., 6): a continuous rotation encoding."""
    w, x, y, z = _components(np.asarray(q, dtype=np.float64))
    return np.stack(
        [1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y),
         2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)],
        axis=-1,
    )  # fmt: skip


def yaw(q: np.ndarray) -> np.ndarray:
    """Heading angle (rotation about world z) of each quaternion."""
    w, x, y, z = _components(normalize(q))
    return np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def log(q: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle, shortest arc) of each quaternion."""
    q = normalize(q)
    q = np.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    scale = np.where(s > 1e-12, angle / np.maximum(s, 1e-12), 2.0)
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
