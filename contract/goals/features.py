"""The goal features of one reference frame: its residual to the current state, the
same quantities as the observation's reference terms, in the heading frame. Rotations
are log-maps (rotation vectors) so that a masked-out rotation is exactly zero; positions
are differences. Components have names; masks select them (``contract.goals.masks``).
Numpy arrays or torch tensors, one source for both (``common.array_namespace``)."""

from __future__ import annotations

import numpy as np

from common.array_namespace import constant, namespace, readonly
from contract.observations import heading_quat, rotate_into
from contract.state import HANDS, KEY_BODIES, HoiState
from robots import g1, quat

COMPONENTS: tuple[tuple[str, int], ...] = (
    ("root_pos", 3),
    ("root_rot", 3),
    ("joint_pos", g1.NUM_JOINTS),
    ("body_pos", 3 * len(KEY_BODIES)),
    ("object_pos", 3),
    ("object_rot", 3),
    ("contact", 5),
)
GOAL_DIM = sum(size for _, size in COMPONENTS)


def _slices() -> dict[str, slice]:
    out, start = {}, 0
    for name, size in COMPONENTS:
        out[name] = slice(start, start + size)
        start += size
    return out


SLICES = _slices()
# Hand positions inside the body_pos component (contact goals condition on them).
HAND_POS = np.concatenate(
    [np.arange(3) + SLICES["body_pos"].start + 3 * KEY_BODIES.index(h) for h in HANDS]
)


def goal_residual(state: HoiState, ref: HoiState, contact: np.ndarray) -> np.ndarray:
    """(N, GOAL_DIM) residual of reference frame ``ref`` (with its contact labels) to
    ``state``, in the heading frame of ``state``; (K, N, GOAL_DIM) for K reference frames
    of each simulation (``ref`` and ``contact`` fields (K, N, ...))."""
    xp = namespace(state.root_pos)
    inv = quat.conjugate(heading_quat(state.root_quat))
    lead = ref.root_pos.shape[:-2]  # () or (K,)
    n = state.root_pos.shape[0]

    def to_heading(v: np.ndarray) -> np.ndarray:
        return rotate_into(inv, v, len(lead))

    def rot_residual(target: np.ndarray, current: np.ndarray) -> np.ndarray:
        return to_heading(quat.log(quat.multiply(target, quat.conjugate(current))))

    parts = [
        to_heading(ref.root_pos - state.root_pos),
        rot_residual(ref.root_quat, state.root_quat),
        ref.joint_pos - state.joint_pos,
        xp.reshape(to_heading(ref.body_pos - state.body_pos), (*lead, n, -1)),
        to_heading(ref.object_pos - state.object_pos),
        rot_residual(ref.object_quat, state.object_quat),
    ]
    parts.append(xp.astype(xp.asarray(contact), parts[0].dtype))
    return xp.concat(parts, axis=-1)


GOAL_TOLERANCE = 0.2  # m: a goal counts as reached within this goal distance (evaluation)
POSITIONS = readonly(np.r_[SLICES["root_pos"], SLICES["body_pos"], SLICES["object_pos"]])


def goal_distance(residual: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean distance (m) of the visible position goals (root, key bodies, object; a
    point counts when all 3 of its coordinates are visible) of each simulation's first
    token with any, from (N, G, GOAL_DIM) residuals and masks: (N,), NaN where none."""
    xp = namespace(residual)
    positions = constant(POSITIONS, residual)
    pos, seen = residual[..., positions], xp.astype(mask[..., positions], xp.bool)
    dist = xp.linalg.vector_norm(xp.reshape(pos, (*pos.shape[:-1], -1, 3)), axis=-1)
    seen3 = xp.all(xp.reshape(seen, (*seen.shape[:-1], -1, 3)), axis=-1)
    count = xp.sum(xp.astype(seen3, dist.dtype), axis=-1)
    per_token = xp.where(
        count > 0, xp.sum(dist * xp.astype(seen3, dist.dtype), axis=-1) / xp.clip(count, min=1.0),
        xp.nan,
    )  # fmt: skip
    first = xp.argmax(xp.astype(xp.any(seen3, axis=-1), xp.int8), axis=1)
    return xp.take_along_axis(per_token, first[:, None], axis=1)[:, 0]
