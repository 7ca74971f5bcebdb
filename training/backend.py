"""The physics seam: what the environment needs from a batched simulator.

``MujocoBatchBackend`` runs N CPU simulations of one model on a thread pool
(``mujoco.batch.Batch``). A GPU backend (e.g. MuJoCo Warp) implements the same small
interface; the environment only sees (N, ...) numpy arrays.
"""

from __future__ import annotations

import os
from typing import Protocol

import mujoco
import numpy as np
from mujoco import batch as mjbatch


class PhysicsBackend(Protocol):
    model: mujoco.MjModel
    nsim: int

    def field(self, name: str) -> np.ndarray:
        """Live (nsim, ...) view of an MjData field (qpos, qvel, ctrl, xpos, ...)."""
        ...

    def model_field(self, name: str) -> np.ndarray:
        """Writable (nsim, ...) per-simulation copy of an MjModel field (randomization)."""
        ...

    def step(self, nstep: int) -> None: ...

    def reset(self, ids: np.ndarray) -> None:
        """Reset simulations ``ids`` to the model's ``default`` keyframe."""
        ...

    def forward(self, ids: np.ndarray | None = None) -> None:
        """Recompute derived quantities (kinematics, velocities) after writing state."""
        ...


class MujocoBatchBackend:
    def __init__(self, model: mujoco.MjModel, nsim: int, nthread: int = 0):
        if nsim < 1:
            raise ValueError(f"need at least one simulation, got {nsim}")
        self.model = model
        self.nsim = nsim
        self.nthread = nthread or os.cpu_count() or 1
        self.batch = mjbatch.Batch(model, nsim, nthread=self.nthread, persistent=True)
        self._keyframe = model.key("default").id if model.nkey else -1
        self._fields: dict[str, np.ndarray] = {}

    def field(self, name: str) -> np.ndarray:
        if name not in self._fields:
            self._fields[name] = self.batch.bind(name)
        return self._fields[name]

    def model_field(self, name: str) -> np.ndarray:
        return self.batch.expand(name)

    def step(self, nstep: int) -> None:
        # Velocity stage after stepping: positions, velocities and sensors are current
        # when observations are read, and a persistent batch reuses them next step.
        self.batch.step(nstep=nstep, stage=mujoco.mjtStage.mjSTAGE_VEL)

    def reset(self, ids: np.ndarray) -> None:
        self.batch.reset(ids, keyframe=self._keyframe, stage=mujoco.mjtStage.mjSTAGE_NONE)

    def forward(self, ids: np.ndarray | None = None) -> None:
        self.batch.forward(ids, stage=mujoco.mjtStage.mjSTAGE_VEL)
