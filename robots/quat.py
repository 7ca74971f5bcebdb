"""Quaternion helpers. Convention everywhere in this project: (w, x, y, z), Hamilton
product, active rotation of vectors from the body frame to the world frame.

Pinocchio's configuration vector and InterAct files store (x, y, z, w); convert at the
boundary with :func:`wxyz_to_xyzw` / :func:`xyzw_to_wxyz`.
"""

from __future__ import annotations

import numpy as np

from robots.array_namespace import as_float, like, namespace


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    return np.concatenate([q[..., 1:], q[..., :1]], axis=-1)


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    return np.concatenate([q[..., 3:], q[..., :3]], axis=-1)


def _components(q) -> tuple:
    # Plain indexing: np.moveaxis costs ~15 us a call, which added up to most of the
    # single-robot observation on the deploy node's 2 ms budget.
    return tuple(q[..., i] for i in range(q.shape[-1]))


# The functions down to ``log`` take numpy arrays or torch tensors (robots.array_namespace):
# the observation, reward and termination terms use them in training and on the robot.


def normalize(q):
    xp = namespace(q)
    q = as_float(q, xp)
    return q / xp.linalg.vector_norm(q, axis=-1, keepdims=True)


def multiply(a, b):
    xp = namespace(a, b)
    aw, ax, ay, az = _components(as_float(a, xp))
    bw, bx, by, bz = _components(as_float(b, xp))
    return xp.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def conjugate(q):
    q = as_float(q)
    return q * like([1.0, -1.0, -1.0, -1.0], q)


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


def rotate(q, v):
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4): v + w t + u x t with
    t = 2 u x v, written out per component (one allocation instead of two np.cross)."""
    xp = namespace(q, v)
    w, x, y, z = _components(as_float(q, xp))
    vx, vy, vz = _components(as_float(v, xp))
    tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
    return xp.stack(
        [
            vx + w * tx + y * tz - z * ty,
            vy + w * ty + z * tx - x * tz,
            vz + w * tz + x * ty - y * tx,
        ],
        axis=-1,
    )


def from_axis_angle(axis, angle):
    xp = namespace(axis, angle)
    angle = as_float(angle, xp)
    axis = like(axis, angle)
    axis = axis / xp.linalg.vector_norm(axis, axis=-1, keepdims=True)
    half = 0.5 * angle[..., None]
    return xp.concat([xp.cos(half), xp.sin(half) * axis], axis=-1)


def first_two_columns(q):
    """The rotation matrix's x and y columns (..., 6): a continuous rotation encoding."""
    xp = namespace(q)
    w, x, y, z = _components(as_float(q, xp))
    return xp.stack(
        [1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y),
         2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)],
        axis=-1,
    )  # fmt: skip


def yaw(q):
    """Heading angle (rotation about world z) of each quaternion."""
    xp = namespace(q)
    w, x, y, z = _components(normalize(q))
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
