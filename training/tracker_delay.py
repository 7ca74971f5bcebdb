"""A tracker's latency in training: the policy sees the object where a tracker saw it a
drawn number of control steps ago, moved on at the velocity it had then over that time,
as the robot node extrapolates a late capture (``contract.tracker.extrapolate``). What
is left between that and the truth is the error the node's compensation leaves when the
object accelerates. The latency is drawn per episode at control-step resolution."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from contract.state import HoiState
from contract.tracker import extrapolate


class TrackerDelay:
    """The object's recent true states per simulation, and each one's latency in steps."""

    def __init__(self, n: int, most_steps: int, control_hz: float):
        self.control_hz = control_hz
        self.steps = np.zeros(n, int)
        self.fresh = np.ones(n, bool)
        shapes = (3, 4, 3, 3)  # position, quaternion wxyz, linear and angular velocity
        self.history = [np.zeros((most_steps + 1, n, k)) for k in shapes]

    def restart(self, ids: np.ndarray, steps: np.ndarray) -> None:
        """New episodes for ``ids`` with these latencies (steps): their history starts
        again from the next observed state."""
        self.steps[ids] = steps
        self.fresh[ids] = True

    def observe(self, state: HoiState) -> HoiState:
        """``state`` with the object as the tracker reports it. Records the true object:
        call once per control step."""
        now = (state.object_pos, state.object_quat, state.object_lin_vel, state.object_ang_vel)
        for past, value in zip(self.history, now, strict=True):
            past[1:] = past[:-1].copy()
            past[0] = value
            past[:, self.fresh] = value[self.fresh]
        self.fresh[:] = False
        rows = np.arange(len(self.steps))
        seen = [past[self.steps, rows] for past in self.history]
        pos, q, lin, ang = extrapolate(*seen, self.steps / self.control_hz)
        return replace(state, object_pos=pos, object_quat=q, object_lin_vel=lin,
                       object_ang_vel=ang)  # fmt: skip
