"""Goal tokens for N simulations: which reference frames are the goals, under which
masks, and the recent proprioception history the prior reads.

Per simulation: preview tokens at ``PREVIEW`` steps ahead of the current reference frame
and one snapshot token at a frame 0.5-2 s ahead (``snapshot_steps``), moved further
ahead once reached. A token is (masked residual features, mask, time to go in s)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from array_api_compat import device

from common.array_namespace import namespace
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
    masks, by default ``sample_masks``. Numpy arrays, or with ``like`` (a tensor) torch
    tensors on its device, drawn by ``rng`` there (``training.random_source``)."""

    def __init__(
        self, n: int, cfg: GoalConfig, control_hz: float, rng: np.random.Generator,
        pattern: str | None = None, sampler: Callable | None = None, like=None,
    ):  # fmt: skip
        self.n, self.cfg, self.hz, self.rng, self.pattern = n, cfg, control_hz, rng, pattern
        self.sampler = sampler or sample_masks
        like = np.zeros(0) if like is None else like
        self.xp, self.device = namespace(like), device(like)
        xp = self.xp
        self.mask = xp.zeros((n, NUM_TOKENS, GOAL_DIM), dtype=xp.bool, device=self.device)
        self.snapshot = xp.zeros(n, dtype=xp.int64, device=self.device)
        self.history: np.ndarray | None = None
        self._fixed = None
        if pattern is not None:
            self.set_pattern(pattern, now=False)

    def set_pattern(self, pattern: str, now: bool = True) -> None:
        """Fixed masks of the named ``pattern`` from now on (``now``: at once, else from
        the next reset)."""
        self.pattern = pattern
        self._fixed = self.xp.asarray(pattern_mask(pattern), device=self.device)
        if now:
            self.mask[:] = self._fixed

    def _masks(self, k: int) -> np.ndarray:
        if self._fixed is not None:
            return self.xp.broadcast_to(self._fixed, (k, *self._fixed.shape[1:]))
        return self.xp.asarray(self.sampler(self.rng, k), device=self.device)

    def _snapshot_after(self, frame: np.ndarray, last: np.ndarray) -> np.ndarray:
        lo, hi = self.cfg.snapshot_steps
        return self.xp.minimum(frame + self.rng.integers(lo, hi + 1, len(frame)), last)

    def reset(self, ids: np.ndarray, frame: np.ndarray, last: np.ndarray, proprio: np.ndarray):
        """Fresh goals for simulations ``ids`` starting at ``frame`` (clip's last frame
        ``last``); their history is filled with the current proprioception."""
        xp = self.xp
        if self.history is None:
            shape = (proprio.shape[0], self.cfg.history, proprio.shape[1])
            self.history = xp.asarray(xp.broadcast_to(proprio[:, None], shape), copy=True)
        self.mask[ids] = self._masks(len(ids))
        self.snapshot[ids] = self._snapshot_after(frame, last)
        self.history[ids] = proprio[ids, None]

    def advance(self, frame: np.ndarray, last: np.ndarray, proprio: np.ndarray) -> None:
        """After a control step: push the proprioception, move reached snapshots ahead,
        resample some masks (training)."""
        xp = self.xp
        self.history = xp.concat([self.history[:, 1:], proprio[:, None]], axis=1)
        # drawn for all simulations and kept where due: the same shapes every step
        reached = frame >= self.snapshot
        self.snapshot = xp.where(reached, self._snapshot_after(frame, last), self.snapshot)
        if self.pattern is None:
            p = self.cfg.resample_per_second / self.hz
            resample = (self.rng.random(self.n) < p)[:, None, None]
            self.mask = xp.where(resample, self._masks(self.n), self.mask)

    def tokens(self, state: HoiState, refs: ReferenceMotions, clip: np.ndarray, frame: np.ndarray):
        """(tokens (N, G, TOKEN_DIM) float32, visible (N, G), full residuals (N, G, D))."""
        xp = self.xp
        targets = xp.stack([frame + k for k in PREVIEW] + [self.snapshot])  # (G, N)
        residual = xp.permute_dims(goal_residual(state, *refs.state(clip, targets)), (1, 0, 2))
        to_go = xp.permute_dims((targets - frame) / self.hz, (1, 0))[..., None]
        mask = xp.astype(self.mask, residual.dtype)
        tokens = xp.concat([residual * mask, mask, xp.astype(to_go, residual.dtype)], axis=2)
        f32 = xp.float32
        return xp.astype(tokens, f32), xp.any(self.mask, axis=2), xp.astype(residual, f32)
