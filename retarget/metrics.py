"""Retargeting quality metrics (definitions follow OmniRetarget's evaluation):

- keypoint error: robot frame vs scaled human joint, mean and max over frames and keypoints;
- hand-object distance: hand capsule to object surface in frames where the human hand
  touches the object (0 when touching);
- object / ground / self penetration: deepest robot-geometry penetration per frame (into
  the object, the floor, or another robot body: every pair the simulation collides);
  fraction of frames deeper than 1 cm and the maximum depth;
- foot sliding: fraction of stance frames in which the toe moves more than 1 cm in xy
  since the previous frame;
- stance foot height: the lowest point of a foot's collision capsules above the floor in
  the frames it is labelled in stance, median and maximum over those foot-frames;
- joint-limit violations (frame x joint pairs), maximum joint speed (rad/s and as a
  fraction of that joint's motor velocity limit), mean jerk.
Geometry is MuJoCo's: the G1's collision capsules and the object's collision shape.
"""

from __future__ import annotations

import mujoco
import numpy as np

from robots import g1
from robots.clip import MotionClip
from robots.scene import build_scene

PENETRATION_TOL = 0.01  # m
# Upper bounds a clean clip meets (per clip); a dataset run lists the clips that miss one.
TARGETS = {
    "joint_limit_violations": 0,
    "hand_object_distance_mean_cm": 2.0,
    "object_penetration_frames_frac": 0.05,
    "ground_penetration_max_cm": 1.0,
    "self_penetration_max_cm": 1.0,
    "foot_sliding_frac": 0.05,
    "stance_foot_height_median_cm": 0.5,
    "stance_foot_height_max_cm": 2.0,
    "max_joint_velocity_frac_of_limit": 0.9,
}
SLIDE_TOL = 0.01  # m per frame
TOE_IN_ANKLE = np.array([0.13, 0.0, -0.025])  # front of the sole, ankle_roll_link frame


def _geometry(clip: MotionClip, hand_contact: np.ndarray) -> dict:
    model = build_scene([clip.object], actuators=False).compile()
    data = mujoco.MjData(model)
    obj_body = model.body(clip.object.name).id
    floor = model.geom("floor").id
    robot_geom = (model.geom_bodyid >= 1) & (model.geom_bodyid <= len(g1.BODY_NAMES))
    obj_geoms = np.flatnonzero(model.geom_bodyid == obj_body)
    hands = [model.geom(f"{s}_hand_collision").id for s in ("left", "right")]
    ankles = [model.body(f"{s}_ankle_roll_link").id for s in ("left", "right")]
    soles = [np.flatnonzero(model.geom_bodyid == b) for b in ankles]
    qpos = clip.qpos()
    n = clip.num_frames
    obj_depth, ground_depth, self_depth = np.zeros(n), np.zeros(n), np.zeros(n)
    hand_dist = np.full((n, 2), np.nan)
    toes = np.zeros((n, 2, 3))
    foot_low = np.zeros((n, 2))
    fromto = np.zeros(6)
    for i in range(n):
        data.qpos[:] = qpos[i]
        mujoco.mj_fwdPosition(model, data)
        for c in data.contact[: data.ncon]:
            g1_, g2_ = c.geom
            if robot_geom[g1_] and robot_geom[g2_]:
                self_depth[i] = max(self_depth[i], -c.dist)
                continue
            other = g2_ if robot_geom[g1_] else g1_ if robot_geom[g2_] else None
            if other is None:
                continue
            if model.geom_bodyid[other] == obj_body:
                obj_depth[i] = max(obj_depth[i], -c.dist)
            elif other == floor:
                ground_depth[i] = max(ground_depth[i], -c.dist)
        for k, h in enumerate(hands):
            if hand_contact[i, k]:
                hand_dist[i, k] = min(
                    mujoco.mj_geomDistance(model, data, h, g, 1.0, fromto) for g in obj_geoms
                )
        for k, b in enumerate(ankles):
            toes[i, k] = data.xpos[b] + data.xmat[b].reshape(3, 3) @ TOE_IN_ANKLE
            foot_low[i, k] = _lowest_capsule_point(model, data, soles[k])
    return dict(obj_depth=obj_depth, ground_depth=ground_depth, self_depth=self_depth,
                hand_dist=hand_dist, toes=toes, foot_low=foot_low)  # fmt: skip


def _lowest_capsule_point(model: mujoco.MjModel, data: mujoco.MjData, geoms: np.ndarray) -> float:
    """Lowest z of these capsule (or sphere) geoms: centre minus the half-length along
    the axis' vertical component minus the radius."""
    axis_z = data.geom_xmat[geoms, 8]  # z component of each geom's local z axis
    half = np.where(model.geom_type[geoms] == mujoco.mjtGeom.mjGEOM_CAPSULE,
                    model.geom_size[geoms, 1], 0.0)  # fmt: skip
    lowest = data.geom_xpos[geoms, 2] - np.abs(axis_z) * half - model.geom_size[geoms, 0]
    return float(lowest.min())


def compute_metrics(
    clip: MotionClip,
    robot_keypoints: np.ndarray,
    human_keypoints: np.ndarray,
    hand_contact: np.ndarray,
) -> dict[str, float]:
    """``*_keypoints``: (T, K, 3) matched robot frames and scaled human joints;
    ``hand_contact``: (T, 2) human left/right hand contact."""
    geo = _geometry(clip, hand_contact)
    err = np.linalg.norm(robot_keypoints - human_keypoints, axis=-1)
    dist = np.clip(geo["hand_dist"], 0.0, None)  # touching hands report 0, not negative
    feet = np.stack([clip.contact_of("left_foot"), clip.contact_of("right_foot")], 1)
    step = np.linalg.norm(np.diff(geo["toes"][..., :2], axis=0), axis=-1)  # (T-1, 2)
    stance = feet[1:] & feet[:-1]
    q = clip.joint_pos
    violations = (q < g1.JOINT_LOWER - 1e-6) | (q > g1.JOINT_UPPER + 1e-6)
    vel = np.abs(np.diff(q, axis=0)) * clip.fps
    jerk = np.abs(np.diff(q, n=3, axis=0)) * clip.fps**3 if len(q) > 3 else np.zeros(1)
    in_contact = ~np.isnan(dist)
    stance_height = geo["foot_low"][feet.astype(bool)]
    if not stance_height.size:
        stance_height = np.zeros(1)
    return {
        "frames": int(clip.num_frames),
        "keypoint_error_mean_cm": float(100 * err.mean()),
        "keypoint_error_max_cm": float(100 * err.max()),
        "hand_contact_frames": int(in_contact.any(axis=1).sum()),
        "hand_object_distance_mean_cm": float(100 * dist[in_contact].mean())
        if in_contact.any()
        else 0.0,
        "hand_object_distance_max_cm": float(100 * dist[in_contact].max())
        if in_contact.any()
        else 0.0,
        "object_penetration_frames_frac": float((geo["obj_depth"] > PENETRATION_TOL).mean()),
        "object_penetration_max_cm": float(100 * geo["obj_depth"].max()),
        "ground_penetration_frames_frac": float((geo["ground_depth"] > PENETRATION_TOL).mean()),
        "ground_penetration_max_cm": float(100 * geo["ground_depth"].max()),
        "self_penetration_frames_frac": float((geo["self_depth"] > PENETRATION_TOL).mean()),
        "self_penetration_max_cm": float(100 * geo["self_depth"].max()),
        "foot_contact_frames": int(stance.sum()),
        "foot_sliding_frac": float((step[stance] > SLIDE_TOL).mean()) if stance.any() else 0.0,
        "stance_foot_height_median_cm": float(100 * np.median(stance_height)),
        "stance_foot_height_max_cm": float(100 * stance_height.max()),
        "joint_limit_violations": int(violations.sum()),
        "max_joint_velocity_rad_s": float(vel.max()),
        "max_joint_velocity_frac_of_limit": float((vel / g1.VELOCITY_LIMIT).max()),
        "jerk_mean_rad_s3": float(jerk.mean()),
    }


def misses(metrics: dict) -> list[str]:
    """The :data:`TARGETS` this clip's metrics exceed."""
    return [k for k, bound in TARGETS.items() if metrics[k] > bound]
