"""Sensor noise: what separates the robot's measured state from the true one. Drawn
the same way by sim2sim (each control step) and by training (on the observation, as
randomization); numpy only."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from contract.state import HoiState

# s from the observation to the motors on the robot, as sim2sim models it by default
LATENCY_S = 0.005


@dataclass(frozen=True)
class SensorNoise:
    joint_pos: float = 0.005
    """Encoder noise, rad."""
    joint_vel: float = 0.05
    """Joint speed noise, rad/s."""
    gyro: float = 0.02
    """IMU gyro noise, rad/s."""
    object_pos: float = 0.0
    """Object position noise, m (a tracker's; 0: the object is seen exactly)."""
    object_vel: float = 0.0
    """Object linear velocity noise, m/s (a tracker's velocity estimate)."""

    def measure(self, state: HoiState, rng: np.random.Generator) -> HoiState:
        """``state`` as the sensors report it (Gaussian noise on joint angles, joint
        speeds and the gyro; a new state, ``state`` is kept)."""
        n = len(state.joint_pos)
        tracked = {}
        if self.object_pos or self.object_vel:  # drawn only when asked: same draws as before
            tracked = dict(
                object_pos=state.object_pos + rng.normal(scale=self.object_pos, size=(n, 3)),
                object_lin_vel=state.object_lin_vel
                + rng.normal(scale=self.object_vel, size=(n, 3)),
            )
        return replace(
            state,
            joint_pos=state.joint_pos + rng.normal(scale=self.joint_pos, size=(n, 29)),
            joint_vel=state.joint_vel + rng.normal(scale=self.joint_vel, size=(n, 29)),
            root_ang_vel=state.root_ang_vel + rng.normal(scale=self.gyro, size=(n, 3)),
            **tracked,
        )
