"""Object-relative hand targets: during human hand contact the robot's palm goes where
the human's palm was relative to the real-size object, pushed onto its surface so the
hand touches without penetrating."""

from __future__ import annotations

import numpy as np

from retarget.motion import HumanMotion
from retarget.skeleton import hand_joints
from robots import g1, quat
from robots.objects import signed_distance

# The G1 hand capsule (radius 3.5 cm) curls 2 cm towards the palm at its tip: the palm
# site must stay this far from the surface for the whole capsule to stay outside.
PALM_CLEARANCE = g1.HAND_RADIUS + 0.02


def hand_contact(motion: HumanMotion, side: str) -> np.ndarray:
    """(T,) True where any joint of the hand (wrist, fingers) is labelled in contact."""
    if motion.contacts is None:
        return np.zeros(motion.num_frames, bool)
    cols = [motion.index(n) for n in hand_joints(side) if motion.has(n)]
    return (motion.contacts[:, cols] > 0.5).any(axis=1)


def palm_points(positions: np.ndarray, names: tuple[str, ...], side: str) -> np.ndarray:
    """Human palm centre: between the wrist and the middle (else index) finger base, or
    9 cm beyond the wrist along the forearm when the data has no finger joints."""
    wrist = positions[:, names.index(f"{side}_Wrist")]
    for finger in (f"{side}_Middle1", f"{side}_Index1"):
        if finger in names:
            return 0.5 * (wrist + positions[:, names.index(finger)])
    elbow = positions[:, names.index(f"{side}_Elbow")]
    d = wrist - elbow
    return wrist + 0.09 * d / np.linalg.norm(d, axis=1, keepdims=True)


def to_surface(
    planes: list[np.ndarray], points: np.ndarray, offset: float
) -> tuple[np.ndarray, np.ndarray]:
    """Move each point (object frame) to ``offset`` outside the object along the normal of
    its deciding face (see ``robots.objects.signed_distance``): exact for inside points;
    for outside points the face plane supports the convex part, so a point ``offset``
    beyond it is at least ``offset`` from the part. Returns the points and normals."""
    dist, normals = signed_distance(planes, points)
    return points + (offset - dist)[:, None] * normals, normals


def push_out(
    planes: list[np.ndarray],
    points: np.ndarray,
    object_pos: np.ndarray,
    object_quat: np.ndarray,
    clearance: float,
) -> np.ndarray:
    """World points (T, 3) moved out of the object (pose per frame) where they are inside
    it or closer than ``clearance`` to its surface; other points are unchanged."""
    local = quat.rotate(quat.conjugate(object_quat), points - object_pos)
    near = signed_distance(planes, local)[0] < clearance
    if near.any():
        local[near], _ = to_surface(planes, local[near], clearance)
    return object_pos + quat.rotate(object_quat, local)


def object_relative_targets(
    palm_world: np.ndarray,
    object_pos: np.ndarray,
    object_quat: np.ndarray,
    target_object_pos: np.ndarray,
    planes: list[np.ndarray],
    offset: float,
    frames: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Palm in the (human) object frame, put on the surface, then placed in the world with
    the robot's (scaled) object trajectory. Returns world targets and surface normals;
    only ``frames`` (a boolean mask) are computed, the others are NaN."""
    local = np.full_like(palm_world, np.nan)
    normals = np.full_like(palm_world, np.nan)
    rel = quat.rotate(quat.conjugate(object_quat[frames]), palm_world[frames] - object_pos[frames])
    if frames.any():
        local[frames], normals[frames] = to_surface(planes, rel, offset)
    return target_object_pos + quat.rotate(object_quat, local), quat.rotate(object_quat, normals)
