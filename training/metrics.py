"""Tracking errors shared by terminations, PSI and the evaluations (numpy only)."""

from __future__ import annotations

import numpy as np

from robots import quat
from training.state import HoiState


def body_error(s: HoiState, ref: HoiState) -> np.ndarray:
    """(N,) mean distance of the key bodies to the reference, m (E_h)."""
    return np.linalg.norm(s.body_pos - ref.body_pos, axis=-1).mean(axis=1)


def object_point_error(s: HoiState, ref: HoiState, points: np.ndarray) -> np.ndarray:
    """(N,) mean distance of object surface points (object frame) to where the reference
    puts them, m (E_o)."""
    sim = s.object_pos[:, None] + quat.rotate(s.object_quat[:, None], points[None])
    want = ref.object_pos[:, None] + quat.rotate(ref.object_quat[:, None], points[None])
    return np.linalg.norm(sim - want, axis=-1).mean(axis=1)
