"""The pelvis's linear velocity from what the robot measures, where no tracker sees the
pelvis: legged odometry.

A foot in stance does not move, so the pelvis moves opposite to that foot's motion
relative to it: ``v = -d/dt (p_foot - p_pelvis)``, the offset taken in world axes from
the measured joints (forward kinematics) and the IMU orientation. The stance foot is the
lower one. The difference over one control step is low-pass filtered (the encoders are
noisy), and restarts when the stance foot changes. numpy only.
"""

from __future__ import annotations

import numpy as np

from robots import g1
from robots.clip import forward_kinematics

_FEET = np.array([g1.BODY_NAMES.index("left_ankle_roll_link"),
                  g1.BODY_NAMES.index("right_ankle_roll_link")])  # fmt: skip
_PELVIS = g1.BODY_NAMES.index("pelvis")


class LegOdometry:
    def __init__(self, dt: float, time_constant: float = 0.04):
        self.dt = dt
        self.alpha = dt / (dt + time_constant)
        self.reset()

    def reset(self) -> None:
        self._offset: np.ndarray | None = None  # (2, 3) feet relative to the pelvis
        self._stance = -1
        self.velocity = np.zeros(3)

    def update(self, root_quat: np.ndarray, joint_pos: np.ndarray) -> np.ndarray:
        """The pelvis velocity (1, 3), world frame, after one control step's measured
        orientation (1, 4) and joint angles (1, 29)."""
        body_pos, _ = forward_kinematics(np.zeros((1, 3)), root_quat, joint_pos)
        return self.update_offsets(body_pos[0, _FEET] - body_pos[0, _PELVIS])

    def update_offsets(self, offset: np.ndarray) -> np.ndarray:
        """The same from the feet's (2, 3) offsets to the pelvis in world axes."""
        stance = int(np.argmin(offset[:, 2]))
        if self._offset is not None and stance == self._stance:
            step = -(offset[stance] - self._offset[stance]) / self.dt
            self.velocity = self.velocity + self.alpha * (step - self.velocity)
        self._offset, self._stance = offset, stance
        return self.velocity[None].copy()
