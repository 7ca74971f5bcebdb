"""The action contract: policy output -> joint position targets. Used by the training
environment, sim2sim and the robot node alike (numpy, or torch tensors in training).

A target is a base pose plus the scaled action. The base is the default pose, or, for
a tracking expert trained with ``action_base="reference"``, the reference clip's joint
angles at the frame the step leads to (feed-forward of the motion: the policy learns
corrections, which a CPU budget can afford; goal-conditioned policies, which have no
full reference, always use the default pose)."""

from __future__ import annotations

import numpy as np

from common.array_namespace import as_float, constant, namespace, readonly
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


# What reaches a motor (the robot node's safety layer, and so sim2sim and training too):
# targets inside each joint's range by a margin, moving at most this fast. A policy that
# learned to push targets far past the joints (as PD torque commands) or to jump them
# would meet a different robot on the node.
TARGET_MARGIN = 0.05  # rad inside each joint limit
MAX_TARGET_RATE = 50.0  # rad/s (0.1 rad per 500 Hz command)
SAFE_LOWER = readonly(g1.JOINT_LOWER + TARGET_MARGIN)
SAFE_UPPER = readonly(g1.JOINT_UPPER - TARGET_MARGIN)


def safe_targets(targets: np.ndarray) -> np.ndarray:
    """``targets`` clipped into the joints' ranges less ``TARGET_MARGIN``."""
    xp = namespace(targets)
    return xp.clip(targets, constant(SAFE_LOWER, targets), constant(SAFE_UPPER, targets))


def ramped(target: np.ndarray, previous: np.ndarray, seconds: float) -> np.ndarray:
    """``target`` as far as ``previous`` may move towards it in ``seconds``."""
    step = MAX_TARGET_RATE * seconds
    return namespace(target).clip(target, previous - step, previous + step)


def rebase(action: np.ndarray, base: np.ndarray, new_base: np.ndarray, scale: np.ndarray):
    """The action that gives the same targets from ``new_base`` as ``action`` from
    ``base`` (e.g. a reference-based expert's labels for a default-based student)."""
    return action + (base - new_base) / scale
