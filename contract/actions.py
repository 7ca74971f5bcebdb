"""The action contract: policy output -> joint position targets. Used by the training
environment, sim2sim and the robot node alike (numpy, or torch tensors in training).

A target is a base pose plus the scaled action. The base is the default pose, or, for
a tracking expert trained with ``action_base="reference"``, the reference clip's joint
angles at the frame the step leads to (feed-forward of the motion: the policy learns
corrections, which a CPU budget can afford; goal-conditioned policies, which have no
full reference, always use the default pose)."""

from __future__ import annotations

import numpy as np

from common.array_namespace import as_float, namespace
from robots import g1

# The defaults of every policy trained here (a policy file records its own).
CONTROL_HZ = 50.0
ACTION_SCALE = 0.25
ACTION_CLIP = 10.0


def joint_scale(factor: float, kp: np.ndarray) -> np.ndarray:
    """Per-joint action scale: ``factor * effort_limit / kp`` (mjlab's rule)."""
    return factor * g1.EFFORT_LIMIT / kp


def clip_action(action: np.ndarray, limit: float) -> np.ndarray:
    """``action`` as floats within +-limit (numpy float64, or a tensor as it is)."""
    a = as_float(action)
    return namespace(a).clip(a, -limit, limit)


ACTION_BASES = ("default", "reference")


def joint_targets(action: np.ndarray, base: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Position targets (motor order): the base pose plus the scaled action."""
    return base + action * scale


def rebase(action: np.ndarray, base: np.ndarray, new_base: np.ndarray, scale: np.ndarray):
    """The action that gives the same targets from ``new_base`` as ``action`` from
    ``base`` (e.g. a reference-based expert's labels for a default-based student)."""
    return action + (base - new_base) / scale
