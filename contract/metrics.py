"""Tracking errors shared by terminations, PSI and the evaluations."""

from __future__ import annotations

from collections import Counter

import numpy as np

from common.array_namespace import namespace
from contract.state import HoiState
from robots import quat


def body_error(s: HoiState, ref: HoiState) -> np.ndarray:
    """(N,) mean distance of the key bodies to the reference, m (E_h); numpy or torch."""
    xp = namespace(s.body_pos)
    return xp.mean(xp.linalg.vector_norm(s.body_pos - ref.body_pos, axis=-1), axis=1)


def object_point_error(s: HoiState, ref: HoiState, points: np.ndarray) -> np.ndarray:
    """(N,) mean distance of object surface points (object frame) to where the reference
    puts them, m (E_o)."""
    sim = s.object_pos[:, None] + quat.rotate(s.object_quat[:, None], points[None])
    want = ref.object_pos[:, None] + quat.rotate(ref.object_quat[:, None], points[None])
    return np.linalg.norm(sim - want, axis=-1).mean(axis=1)


class AttemptStats:
    """Bookkeeping of an evaluation where each of N simulations makes one attempt: the
    errors summed over the frames it lived, whether it reached the clip's end without
    early termination (success), whether it fell, and which termination ended it."""

    def __init__(self, n: int, points: np.ndarray):
        self.points = points
        self.alive = np.ones(n, bool)
        self.success, self.fell = np.zeros(n, bool), np.zeros(n, bool)
        self.e_h, self.e_o, self.frames = np.zeros(n), np.zeros(n), np.zeros(n)
        self.ended_by = np.full(n, "", dtype=object)  # the first cause listed wins ties

    def record(self, terminated: np.ndarray, truncated: np.ndarray, info: dict) -> None:
        """One control step's outcome (``HoiEnv.step``'s terminated, truncated, info;
        ``info["fallen"]``, where given, counts falls that are no termination cause)."""
        alive, s, ref = self.alive, info["state"], info["reference"]
        self.e_h += np.where(alive, body_error(s, ref), 0.0)
        self.e_o += np.where(alive, object_point_error(s, ref, self.points), 0.0)
        self.frames += alive
        self.success |= alive & truncated & info["clip_end"]
        self.fell |= alive & info.get("fallen", info["causes"]["fall"])
        for cause, hit in info["causes"].items():
            self.ended_by[alive & hit & (self.ended_by == "")] = cause
        self.alive = alive & ~(terminated | truncated)

    def per_frame(self, total: np.ndarray) -> np.ndarray:
        return total / np.maximum(self.frames, 1)

    def summary(self, control_hz: float) -> dict:
        return {
            "attempts": len(self.alive),
            "success_rate": float(self.success.mean()),
            "E_h_cm": float(100 * self.per_frame(self.e_h).mean()),
            "E_o_cm": float(100 * self.per_frame(self.e_o).mean()),
            "fall_rate": float(self.fell.mean()),
            "mean_survival_s": float(self.frames.mean() / control_hz),
            "terminations": dict(Counter(self.ended_by[self.ended_by != ""].tolist())),
        }
