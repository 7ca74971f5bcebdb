"""The Unitree G1 29-DoF: joint order, limits, gains and default pose, all from one table.

Arrays are in Unitree motor order (index 0..28 of LowCmd/LowState). Look joints up by
name with :func:`joint_index`, never by position in some other file.
"""

from __future__ import annotations

import numpy as np

from common.array_namespace import readonly
from robots.g1.gains import PROFILES, GainProfile, profile
from robots.g1.spec import Link
from robots.g1.table import CONTACT_EXCLUDES, DEFAULT_JOINT_POS, LINKS, MOTOR_ORDER, MOTORS

JOINT_NAMES: tuple[str, ...] = tuple(link.joint.name for link in LINKS if link.joint is not None)
if JOINT_NAMES != MOTOR_ORDER:  # the table's depth-first order must be the SDK order
    raise AssertionError("G1 link table is not in Unitree motor order")
NUM_JOINTS = len(JOINT_NAMES)
BODY_NAMES: tuple[str, ...] = tuple(link.name for link in LINKS)
ROOT_BODY = LINKS[0].name
FREE_JOINT = "floating_base_joint"
# Pelvis height at which the default pose's lowest foot capsule touches z = 0 (checked in
# tests by forward kinematics).
DEFAULT_ROOT_HEIGHT = 0.7571

_JOINT_LINKS = [link for link in LINKS if link.joint is not None]
JOINT_LOWER = np.array([lk.joint.range[0] for lk in _JOINT_LINKS])
JOINT_UPPER = np.array([lk.joint.range[1] for lk in _JOINT_LINKS])
ARMATURE = np.array([MOTORS[lk.joint.motor].armature for lk in _JOINT_LINKS])
EFFORT_LIMIT = np.array([MOTORS[lk.joint.motor].effort for lk in _JOINT_LINKS])
VELOCITY_LIMIT = np.array([MOTORS[lk.joint.motor].velocity for lk in _JOINT_LINKS])
ARMS = readonly([any(part in n for part in ("shoulder", "elbow", "wrist")) for n in JOINT_NAMES])
DEFAULT_POS = readonly([DEFAULT_JOINT_POS.get(name, 0.0) for name in JOINT_NAMES])
for _name in DEFAULT_JOINT_POS:
    if _name not in JOINT_NAMES:
        raise AssertionError(f"default pose names unknown joint {_name!r}")


def joint_index(name: str) -> int:
    """Motor index of a joint, with a clear error for unknown names."""
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(
            f"unknown G1 joint {name!r}; known joints: {', '.join(JOINT_NAMES)}"
        ) from None


def gains(name: str | GainProfile = "tracking") -> tuple[np.ndarray, np.ndarray]:
    """(kp, kd) per joint in motor order for a gain profile."""
    p = profile(name)
    return p.kp(ARMATURE, ARMS), p.kd(ARMATURE, ARMS)


def link(name: str) -> Link:
    for lk in LINKS:
        if lk.name == name:
            return lk
    raise KeyError(f"unknown G1 body {name!r}")


__all__ = [
    "ARMATURE",
    "ARMS",
    "BODY_NAMES",
    "CONTACT_EXCLUDES",
    "DEFAULT_POS",
    "DEFAULT_ROOT_HEIGHT",
    "EFFORT_LIMIT",
    "FREE_JOINT",
    "JOINT_LOWER",
    "JOINT_NAMES",
    "JOINT_UPPER",
    "LINKS",
    "NUM_JOINTS",
    "PROFILES",
    "ROOT_BODY",
    "VELOCITY_LIMIT",
    "gains",
    "joint_index",
    "link",
]


# The hand collision capsule's radius (on the wrist_yaw links): distances measured from a
# hand link's origin, which lies on the capsule's axis, are this much larger than the
# gap between the hand's surface and what it touches.
HAND_RADIUS = next(
    g.radius for g in link("left_wrist_yaw_link").geoms if g.name == "left_hand_collision"
)
