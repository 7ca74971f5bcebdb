"""The goal command of a goal-conditioned (Stage 2/3) policy: the one protocol by which
every caller drives the goals, the training rollouts and the evaluator for N simulations
(``training.goal_env``) as the policy runner that sim2sim and the robot node share.

Per step: ``tokens`` (the goal inputs of the current state), then after the step
``advance`` (history, reached snapshots) and ``reset`` of the simulations that start
anew. Commands a person gives, on one robot: ``pin`` a snapshot goal (the clip's frame
to reach; it stays there), ``switch`` the goal pattern, ``start`` a chain goal now or
``queue`` it behind the current one (``contract.goals.chain``), and ``chain_step`` to
record a reached goal and move on after its hold."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from contract.goals.chain import ChainGoal
from contract.goals.features import goal_distance
from contract.goals.tokens import GoalConfig, Goals
from contract.reference import ReferenceMotions
from contract.state import HoiState


class GoalCommand(Goals):
    """Goals of N simulations (``contract.goals.tokens.Goals``: numpy, or torch with
    ``like``; ``reset`` and ``tokens`` as there) and the commands on them."""

    def __init__(
        self, n: int, cfg: GoalConfig, control_hz: float, rng, pattern: str | None = None,
        sampler: Callable | None = None, like=None,
    ):  # fmt: skip
        super().__init__(n, cfg, control_hz, rng, pattern=pattern, sampler=sampler, like=like)
        self.clear()

    def clear(self) -> None:
        """No pinned goal and no chain."""
        self.pinned = False
        self.queue: list[ChainGoal] = []
        self.current: ChainGoal | None = None
        self.hold_left = 0.0
        self.reached: list[dict] = []  # per chained goal: where, error at its time

    def advance(self, frame, last, proprio) -> None:
        """After a control step: the history moves on, a reached snapshot moves ahead
        unless pinned."""
        if self.pinned:
            frame = self.xp.minimum(frame, self.snapshot - 1)
        super().advance(frame, last, proprio)

    # Commands ---------------------------------------------------------------------------

    def pin(self, frame: int) -> None:
        """Make the clip's ``frame`` the snapshot goal of every simulation and keep it."""
        self.snapshot[:] = frame
        self.pinned = True

    def switch(self, pattern: str) -> None:
        """Show the goals under ``pattern`` from now on (and after resets); unpins and
        drops the chain."""
        self.set_pattern(pattern)
        self.pinned, self.queue, self.current = False, [], None

    def start(self, goal: ChainGoal, last: int) -> int:
        """Switch to ``goal`` now (mid-trajectory command switching); returns its frame."""
        self.set_pattern(goal.pattern)
        frame = goal.frame(last)
        self.pin(frame)
        self.current, self.hold_left = goal, goal.hold
        return frame

    def queue_goal(self, goal: ChainGoal, last: int) -> int | None:
        """Append ``goal`` to the chain; started at once (its frame returned) when no
        goal is active."""
        if self.current is None:
            return self.start(goal, last)
        self.queue.append(goal)
        return None

    def chain_step(self, state: HoiState, refs: ReferenceMotions, clip, frame: float,
                   last: int) -> int | None:  # fmt: skip
        """At the current goal's time: record its error (from ``state``); after its hold,
        start the next goal (its frame returned)."""
        if self.current is None or frame < self.snapshot[0]:
            return None
        if not self.reached or self.reached[-1]["goal"] is not self.current:
            snapshot = np.asarray(self.snapshot).copy()
            _, _, residual = self.tokens(state, refs, clip, snapshot)
            error = float(goal_distance(residual[:, -1:], self.mask[:, -1:])[0])
            self.reached.append({"goal": self.current, "error_cm": 100 * error})
        self.hold_left -= 1.0 / self.hz
        if self.hold_left > 0:
            return None
        self.current = None
        return self.start(self.queue.pop(0), last) if self.queue else None
