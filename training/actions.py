"""The action contract: policy output -> joint position targets. Used by the training
environment, sim2sim and the robot node alike (numpy only)."""

from __future__ import annotations

import numpy as np


def clip_action(action: np.ndarray, limit: float) -> np.ndarray:
    return np.clip(np.asarray(action, dtype=np.float64), -limit, limit)


def joint_targets(action: np.ndarray, default_pos: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Position targets (motor order): the default pose plus the scaled action."""
    return default_pos + action * scale
