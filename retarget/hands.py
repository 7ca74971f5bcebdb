"""Object-relative hand targets: during human hand contact the robot's palm goes where
the human's palm was relative to the real-size object, pushed onto its surface so the
hand touches without penetrating."""

from __future__ import annotations

import numpy as np
import trimesh

from retarget.motion import HumanMotion
from retarget.skeleton import hand_joints
from robots import quat
from robots.objects import ObjectSpec, convex_parts

# The G1 hand capsule (radius 3.5 cm) curls 2 cm towards the palm at its tip: the palm
# site must stay this far from the surface for the whole capsule to stay outside.
PALM_CLEARANCE = 0.035 + 0.02


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


def collision_mesh(obj: ObjectSpec) -> list[trimesh.Trimesh]:
    """The object's collision geometry as convex trimeshes in the object frame."""
    if obj.shape in ("mesh", "points"):
        return [trimesh.Trimesh(v, f, process=False) for v, f in convex_parts(obj)]
    if obj.shape == "box":
        return [trimesh.creation.box(obj.size)]
    if obj.shape == "cylinder":
        return [trimesh.creation.cylinder(radius=obj.size[0], height=obj.size[1], sections=48)]
    if obj.shape == "capsule":
        return [trimesh.creation.capsule(radius=obj.size[0], height=obj.size[1])]
    return [trimesh.creation.icosphere(radius=obj.size[0], subdivisions=3)]


def to_surface(
    parts: list[trimesh.Trimesh], points: np.ndarray, offset: float
) -> tuple[np.ndarray, np.ndarray]:
    """Move each point (object frame) to ``offset`` outside the object along the normal of
    its nearest supporting face plane; returns the moved points and those normals.

    For a convex part the face whose plane is farthest in the point's direction is the
    exit face of an inside point (exact) and, for an outside point, a supporting plane:
    a point ``offset`` beyond it is at least ``offset`` from the part. Of several parts,
    the one the point is deepest in (or nearest to) wins.
    """
    best = np.full(len(points), np.inf)
    out = points.copy()
    normals = np.zeros_like(points)
    for mesh in parts:
        n = mesh.face_normals
        dist = n @ points.T - np.sum(n * mesh.triangles[:, 0], axis=1)[:, None]  # (F, N)
        face = dist.argmax(axis=0)
        signed = dist[face, np.arange(len(points))]
        better = signed < best
        best = np.where(better, signed, best)
        normals[better] = n[face[better]]
        out[better] = points[better] + (offset - signed[better])[:, None] * n[face[better]]
    return out, normals


def convex_signed_distance(parts: list[trimesh.Trimesh], points: np.ndarray) -> np.ndarray:
    """Per point, the smallest over parts of the largest face-plane distance: exact inside
    a convex part, a lower bound of the true distance outside (cheap, vectorized)."""
    out = np.full(len(points), np.inf)
    for mesh in parts:
        planes = (
            mesh.face_normals @ points.T
            - np.sum(mesh.face_normals * mesh.triangles[:, 0], axis=1)[:, None]
        )
        out = np.minimum(out, planes.max(axis=0))
    return out


def push_out(
    parts: list[trimesh.Trimesh],
    points: np.ndarray,
    object_pos: np.ndarray,
    object_quat: np.ndarray,
    clearance: float,
) -> np.ndarray:
    """World points (T, 3) moved out of the object (pose per frame) where they are inside
    it or closer than ``clearance`` to its surface; other points are unchanged."""
    local = quat.rotate(quat.conjugate(object_quat), points - object_pos)
    near = convex_signed_distance(parts, local) < clearance
    if near.any():
        local[near], _ = to_surface(parts, local[near], clearance)
    return object_pos + quat.rotate(object_quat, local)


def object_relative_targets(
    palm_world: np.ndarray,
    object_pos: np.ndarray,
    object_quat: np.ndarray,
    target_object_pos: np.ndarray,
    parts: list[trimesh.Trimesh],
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
        local[frames], normals[frames] = to_surface(parts, rel, offset)
    return target_object_pos + quat.rotate(object_quat, local), quat.rotate(object_quat, normals)
