"""PD gains derived from the reflected motor inertia.

Each joint is treated as a second-order system whose inertia is the motor armature J:
``kp = J * w**2`` and ``kd = 2 * zeta * J * w`` with ``w = 2 * pi * f``. This is the
rule of mjlab / BeyondMimic, which makes joints with light motors soft and joints with
heavy motors stiff while keeping every joint's closed-loop bandwidth equal.

Two named profiles:
- ``tracking`` (10 Hz, zeta 2): the gains learned policies are trained and deployed with.
  At these gains the ankles (2 x 28.5 N m/rad) are far softer than the standing
  inverted pendulum needs (m g h ~ 33 kg * 9.81 * 0.7 m ~ 227 N m/rad), so the robot only
  stands with a balancing policy.
- ``stand`` (30 Hz, zeta 1; the arms 20 Hz): stiff enough to stand under PD control
  alone (ankles 2 x 256 N m/rad); used to move to and hold the default pose (comparable
  to BeyondMimic's standby gains: ankle 300, knee 300, hip 200-350). The arms' light
  links leave little inertia beside the armature: at 30 Hz a wrist oscillates under a
  200 Hz sampled PD law (Unitree's MuJoCo simulator at its shipped 5 ms step), and
  standing needs no stiff arms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class GainProfile:
    natural_freq_hz: float
    damping_ratio: float
    arms_freq_hz: float | None = None
    """The arms' own natural frequency (default: ``natural_freq_hz``)."""

    def _w(self, arms) -> np.ndarray:
        arm = self.natural_freq_hz if self.arms_freq_hz is None else self.arms_freq_hz
        return 2.0 * math.pi * np.where(arms, arm, self.natural_freq_hz)

    def kp(self, armature: np.ndarray | float, arms=False) -> np.ndarray:
        """Stiffness per joint; ``arms``: which joints are arm joints."""
        return np.asarray(armature, dtype=np.float64) * self._w(arms) ** 2

    def kd(self, armature: np.ndarray | float, arms=False) -> np.ndarray:
        return 2.0 * self.damping_ratio * np.asarray(armature, dtype=np.float64) * self._w(arms)


GainName = Literal["tracking", "stand"]

PROFILES: dict[str, GainProfile] = {
    "tracking": GainProfile(natural_freq_hz=10.0, damping_ratio=2.0),
    "stand": GainProfile(natural_freq_hz=30.0, damping_ratio=1.0, arms_freq_hz=20.0),
}


def profile(name: str | GainProfile) -> GainProfile:
    if isinstance(name, GainProfile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown gain profile {name!r}; known: {sorted(PROFILES)}") from None
