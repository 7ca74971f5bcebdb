"""The rows of the stacked frame-target task, compiled: per target, 3 rows of world-frame
Jacobian and error (position, full orientation or axis alignment).

Per-frame IK runs this several times per frame over a dozen targets; in Python the
per-target calls cost more than the QP itself, so the loop over targets is one
Numba-compiled function over arrays.
"""

from __future__ import annotations

import numba
import numpy as np

ROTATION, ALIGN, POSITION = 0, 1, 2


@numba.njit(cache=True)
def log3(rotation: np.ndarray) -> np.ndarray:
    """The rotation vector of a rotation matrix (``pinocchio.log3``), exact near half a
    turn, where the antisymmetric part vanishes."""
    r = rotation
    cos = min(1.0, max(-1.0, (r[0, 0] + r[1, 1] + r[2, 2] - 1.0) / 2.0))
    angle = np.arccos(cos)
    w = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if angle < 1e-4:
        return w * (0.5 + angle * angle / 12.0)
    if angle < np.pi - 1e-3:
        return w * (angle / (2.0 * np.sin(angle)))
    # Half a turn: the axis from the symmetric part, its sign from what is left of w.
    i = np.argmax(np.array([r[0, 0], r[1, 1], r[2, 2]]))
    axis = np.empty(3)
    axis[i] = np.sqrt(max(0.0, (r[i, i] - cos) / (1.0 - cos)))
    for j in range(3):
        if j != i:
            axis[j] = (r[i, j] + r[j, i]) / (2.0 * axis[i] * (1.0 - cos))
    axis /= np.sqrt(axis @ axis)
    if axis @ w < 0.0:
        axis = -axis
    return axis * angle


@numba.njit(cache=True)
def fill_rows(
    joint_jacobian: np.ndarray,
    world: np.ndarray,
    slot: np.ndarray,
    kind: np.ndarray,
    axis: np.ndarray,
    target: np.ndarray,
    rotation_t: np.ndarray,
    point: np.ndarray,
    mask: np.ndarray,
    count: int,
    jac: np.ndarray,
    err: np.ndarray,
) -> None:
    """Write the rows of the first ``count`` targets into ``jac`` (3 count, nv) and
    ``err`` (3 count,).

    ``joint_jacobian``: Pinocchio's world-frame joint Jacobian columns (``data.J``);
    ``world``: the frames' homogeneous placements, ``slot`` indexing them per target;
    ``kind``: ROTATION (error log(R R*^T), ``rotation_t`` = R*^T), ALIGN (body axis
    ``axis`` against the unit direction ``target``) or POSITION (frame point ``point``
    against ``target``); ``mask``: per target, the velocity columns that move its frame.
    """
    nv = joint_jacobian.shape[1]
    lin, ang = joint_jacobian[:3], joint_jacobian[3:]
    for k in range(count):
        placement = world[slot[k]]
        rot = np.ascontiguousarray(placement[:3, :3])
        row = 3 * k
        if kind[k] == ROTATION:
            err[row : row + 3] = log3(rot @ rotation_t[k])
            for i in range(3):
                for j in range(nv):
                    jac[row + i, j] = ang[i, j] * mask[k, j]
            continue
        if kind[k] == ALIGN:
            v = rot[:, axis[k]].copy()
            err[row : row + 3] = v - target[k]
            base = 0.0  # the axis turns with the body: d(a) = w x a = -[a]x w
        else:
            v = rot @ point[k] + placement[:3, 3]
            err[row : row + 3] = v - target[k]
            base = 1.0  # the velocity of point p: v_0 + w x p = v_0 - [p]x w
        for j in range(nv):
            m = mask[k, j]
            jac[row, j] = m * (base * lin[0, j] - (v[1] * ang[2, j] - v[2] * ang[1, j]))
            jac[row + 1, j] = m * (base * lin[1, j] - (v[2] * ang[0, j] - v[0] * ang[2, j]))
            jac[row + 2, j] = m * (base * lin[2, j] - (v[0] * ang[1, j] - v[1] * ang[0, j]))
