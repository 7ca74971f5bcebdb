"""Goal tokens for N simulations: which reference frames are the goals, under which
masks, and the recent proprioception history the prior reads.

Per simulation: preview tokens at ``PREVIEW`` steps ahead of the current reference frame
and one snapshot token at a frame 0.5-2 s ahead (``snapshot_steps``), moved further
ahead once reached. A token is (masked residual features, mask, time to go in s)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from contract.goals.features import GOAL_DIM, goal_residual
from contract.goals.masks import NUM_TOKENS, PREVIEW, pattern_mask, sample_masks
from contract.reference import ReferenceMotions
from contract.state import HoiState


@dataclass(frozen=True)
class GoalConfig:
    history: int = 4  # proprioception frames the prior sees (the current one last)
    snapshot_steps: tuple[int, int] = (25, 100)  # control steps ahead
    resample_per_second: float = 0.2  # chance of a new random mask (training)


class Goals:
    """Goal state of N simulations. ``pattern``: a fixed named mask pattern (evaluation,
    deployment); None samples training masks with ``sampler`` (rng, k) -> (k, G, D)
    masks, by default ``sample_masks``."""

    def __init__(
        self, n: int, cfg: GoalConfig, control_hz: float, rng: np.random.Generator,
        pattern: str | None = None, sampler: Callable | None = None,
    ):  # fmt: skip
        self.n, self.cfg, self.hz, self.rng, self.pattern = n, cfg, control_hz, rng, pattern
        self.sampler = sampler or sample_masks
        self.mask = np.zeros((n, NUM_TOKENS, GOAL_DIM), bool)
        self.snapshot = np.zeros(n, int)
        self.history: np.ndarray | None = None

    def _masks(self, k: int) -> np.ndarray:
        if self.pattern is None:
            return self.sampler(self.rng, k)
        return pattern_mask(self.pattern, k)

    def _snapshot_after(self, frame: np.ndarray, last: np.ndarray) -> np.ndarray:
        lo, hi = self.cfg.snapshot_steps
        return np.minimum(frame + self.rng.integers(lo, hi + 1, len(frame)), last)

    def reset(self, ids: np.ndarray, frame: np.ndarray, last: np.ndarray, proprio: np.ndarray):
        """Fresh goals for simulations ``ids`` starting at ``frame`` (clip's last frame
        ``last``); their history is filled with the current proprioception."""
        if self.history is None:
            self.history = np.repeat(proprio[:, None], self.cfg.history, axis=1)
        self.mask[ids] = self._masks(len(ids))
        self.snapshot[ids] = self._snapshot_after(frame, last)
        self.history[ids] = proprio[ids, None]

    def advance(self, frame: np.ndarray, last: np.ndarray, proprio: np.ndarray) -> None:
        """After a control step: push the proprioception, move reached snapshots ahead,
        resample some masks (training)."""
        self.history = np.concatenate([self.history[:, 1:], proprio[:, None]], axis=1)
        reached = np.flatnonzero(frame >= self.snapshot)
        self.snapshot[reached] = self._snapshot_after(frame[reached], last[reached])
        if self.pattern is None:
            p = self.cfg.resample_per_second / self.hz
            ids = np.flatnonzero(self.rng.random(self.n) < p)
            self.mask[ids] = self._masks(len(ids))

    def tokens(self, state: HoiState, refs: ReferenceMotions, clip: np.ndarray, frame: np.ndarray):
        """(tokens (N, G, TOKEN_DIM) float32, visible (N, G), full residuals (N, G, D))."""
        targets = [frame + k for k in PREVIEW] + [self.snapshot]
        residual = np.stack([goal_residual(state, *refs.state(clip, t)) for t in targets], axis=1)
        to_go = np.stack([(t - frame) / self.hz for t in targets], axis=1)[..., None]
        tokens = np.concatenate([residual * self.mask, self.mask, to_go], axis=2)
        return tokens.astype(np.float32), self.mask.any(axis=2), residual.astype(np.float32)
