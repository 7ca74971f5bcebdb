"""Human+object motion -> G1 motion clip.

1. Scale the human uniformly to the G1 (:mod:`retarget.scaling`); the object keeps its
   real size, its trajectory is scaled (xy; z relative to its resting height).
2. Build per-frame targets: tracked joints from the config, pelvis/torso orientations
   from joint positions, feet locked flat on the floor during stance, palms on the
   object's surface (object-relative) during human hand contact.
3. Solve per-frame QP IK with pink, warm-started from the previous frame.
4. Post-process: lift the root out of the floor where a foot would penetrate, clip
   joints to their limits; write the clip with contact labels and quality metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter1d

from retarget.config import RetargetConfig, load_config
from retarget.contacts import blend_weights, foot_contact, segments
from retarget.hands import (
    PALM_CLEARANCE,
    hand_contact,
    object_relative_targets,
    palm_points,
    push_out,
)
from retarget.ik import FrameTarget, G1Ik
from retarget.metrics import compute_metrics
from retarget.motion import HumanMotion, MotionError
from retarget.penetration import PenetrationCheck
from retarget.scaling import scale_factor, scale_object_trajectory
from robots import g1, quat
from robots.clip import CONTACT_NAMES, MotionClip
from robots.objects import convex_planes

SIDES = (("L", "left"), ("R", "right"))
FOOT_Z = 0.035  # ankle_roll_link height above the floor when the sole is flat
NEEDED = ("Pelvis", "L_Hip", "R_Hip", "Spine", "Chest", "Neck", "L_Shoulder", "R_Shoulder",
          "L_Elbow", "R_Elbow", "L_Wrist", "R_Wrist", "L_Ankle", "R_Ankle", "L_Toe", "R_Toe",
          "L_Knee", "R_Knee", "Head")  # fmt: skip


@dataclass
class RetargetResult:
    clip: MotionClip
    metrics: dict
    scale: float


def _frame(y: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations with y along ``y`` and z as close to ``up`` as possible."""
    y = y / np.linalg.norm(y, axis=-1, keepdims=True)
    x = np.cross(y, up)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def _yaw_frame(forward: np.ndarray) -> np.ndarray:
    yaw = np.arctan2(forward[..., 1], forward[..., 0])
    c, s = np.cos(yaw), np.sin(yaw)
    zero, one = np.zeros_like(yaw), np.ones_like(yaw)
    return np.stack([np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1),
                     np.stack([zero, zero, one], -1)], -2)  # fmt: skip


def _interaction_shift(motion: HumanMotion, s: float, config: RetargetConfig) -> np.ndarray:
    """(T, 2) xy shift of the scaled body so that near the object the pelvis keeps the
    human's unscaled offset to the (real-size) object: shift = w (1 - s)(pelvis - object)."""
    root = motion.joint("Pelvis")[:, :2]
    offset = root - motion.object_pos[:, :2]
    near, far = config.interaction.near_distance, config.interaction.far_distance
    w = np.clip((far - np.linalg.norm(offset, axis=1)) / max(far - near, 1e-6), 0.0, 1.0)
    w = w * w * (3 - 2 * w)
    touching = np.zeros(motion.num_frames, bool)
    for side, _ in SIDES:
        touching |= hand_contact(motion, side)
    w = np.maximum(w, blend_weights(touching, config.hands.blend_frames))
    return w[:, None] * (1.0 - s) * offset


def _ground_offset(pos: np.ndarray, names: list[str], masks: dict[str, np.ndarray]) -> float:
    """Vertical shift that puts the human's median stance ankle height at ``FOOT_Z``
    (without stance frames: its lowest ankle height)."""
    heights = [
        pos[masks[robot_side], names.index(f"{side}_Ankle"), 2] for side, robot_side in SIDES
    ]
    stance = np.concatenate(heights)
    if not len(stance):
        ankles = [names.index(f"{side}_Ankle") for side, _ in SIDES]
        return float(FOOT_Z - pos[:, ankles, 2].min())
    return float(FOOT_Z - np.median(stance))


def _check(motion: HumanMotion) -> None:
    missing = [n for n in NEEDED if not motion.has(n)]
    if missing:
        raise MotionError(f"motion lacks joints needed for retargeting: {missing}")


@dataclass
class _Scaled:
    """The motion scaled to the G1, smoothed and set on the G1's ground."""

    s: float  # the scale factor
    raw: np.ndarray  # (T, J, 3) scaled joint positions, unsmoothed
    joint: dict[str, np.ndarray]  # smoothed joint positions by name
    obj_pos: np.ndarray  # the scaled object trajectory
    parts: list[np.ndarray]  # the object's convex parts (face planes)
    foot_masks: dict[str, np.ndarray]  # stance per robot side


# Per-frame targets of a set of robot frames, and the keypoints (robot frame, human
# positions) the quality metrics compare.
Targets = tuple[dict[str, list[FrameTarget]], list[tuple[str, np.ndarray]]]


def retarget(
    motion: HumanMotion,
    config: RetargetConfig | None = None,
    ik_class: type[G1Ik] = G1Ik,
    progress: Callable[[int], None] | None = None,
) -> RetargetResult:
    """Retarget one motion. ``ik_class`` swaps the IK solver (benchmarks compare solvers);
    ``progress(frames)`` is called as frames are solved."""
    config = config or load_config()
    _check(motion)
    start = time.perf_counter()
    scaled = _scaled(motion, config)
    targets, keypoints = {}, []
    hand_masks = {side: hand_contact(motion, human) for human, side in SIDES}
    for made, points in (_tracked_targets(motion, scaled, config), _foot_targets(scaled, config),
                         _hand_targets(motion, scaled, config, hand_masks)):  # fmt: skip
        targets.update(made)
        keypoints += points
    qs, joint_q = _solve(motion, scaled, config, targets, ik_class, progress)
    clip = _lift_out_of_floor(_clip(motion, scaled, qs, joint_q, hand_masks))
    elapsed = time.perf_counter() - start
    robot, human = zip(*keypoints, strict=True)
    metrics = compute_metrics(clip, _frame_positions(clip, list(robot)), np.stack(human, 1),
                              np.stack([hand_masks["left"], hand_masks["right"]], 1))  # fmt: skip
    n = motion.num_frames
    metrics.update(scale=scaled.s, ik_seconds=elapsed, ik_frames_per_s=n / elapsed)
    return RetargetResult(clip=clip, metrics=metrics, scale=scaled.s)


def _scaled(motion: HumanMotion, config: RetargetConfig) -> _Scaled:
    """Scale the human to the G1, shift it for the interaction, smooth the targets and
    lower it onto the G1's ankle height; the object's trajectory scaled alike."""
    fps, names = motion.fps, motion.joint_names
    s = scale_factor(motion, config.scale)
    raw = motion.positions * s
    raw[..., :2] += _interaction_shift(motion, s, config)[:, None]
    pos = (
        gaussian_filter1d(raw, config.ik.target_smoothing, axis=0, mode="nearest")
        if config.ik.target_smoothing > 0
        else raw
    )
    fs = config.feet
    foot_masks = {
        robot_side: foot_contact(
            pos[:, [names.index(f"{side}_Ankle"), names.index(f"{side}_Toe")]],
            fps, fs.contact_speed, fs.contact_height, fs.min_frames,
        )
        for side, robot_side in SIDES
    }  # fmt: skip
    # The scaled human stands on its own ankle height, not the G1's: lower the whole body
    # so that its stance ankles are at the G1's flat-foot height.
    ground = _ground_offset(pos, names, foot_masks) if fs.ground_align else 0.0
    raw[..., 2] += ground
    pos = pos + np.array([0.0, 0.0, ground])
    return _Scaled(s=s, raw=raw, joint={name: pos[:, i] for i, name in enumerate(names)},
                   obj_pos=scale_object_trajectory(motion.object_pos, s),
                   parts=convex_planes(motion.object), foot_masks=foot_masks)  # fmt: skip


def _body_rotations(joint: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pelvis and torso orientations from the human's hips, shoulders and spine."""
    return {
        "pelvis": _frame(joint["L_Hip"] - joint["R_Hip"], joint["Spine"] - joint["Pelvis"]),
        "torso_link": _frame(joint["L_Shoulder"] - joint["R_Shoulder"],
                             joint["Neck"] - joint["Spine"]),
    }  # fmt: skip


def _tracked_targets(motion: HumanMotion, sc: _Scaled, config: RetargetConfig) -> Targets:
    """The config's tracked joints, kept out of the object by the clearance."""
    rotations = _body_rotations(sc.joint)
    targets, keypoints = {}, []
    for t in config.targets:
        if not motion.has(t.human):
            raise MotionError(f"motion lacks joint {t.human!r} named in the retarget config")
        rot = rotations.get(t.robot)
        goal = push_out(sc.parts, sc.joint[t.human], sc.obj_pos, motion.object_quat,
                        config.interaction.clearance)  # fmt: skip
        targets[t.robot] = [
            FrameTarget(goal[i], None if rot is None else rot[i], t.position, t.orientation)
            for i in range(motion.num_frames)
        ]
        if t.position > 0:
            keypoints.append((t.robot, sc.raw[:, motion.joint_names.index(t.human)]))
    return targets, keypoints


def _foot_targets(sc: _Scaled, config: RetargetConfig) -> Targets:
    """Feet locked flat at the mean position during stance, blended into the human's
    ankle path around it."""
    fs, names = config.feet, list(sc.joint)
    n = len(sc.obj_pos)
    targets, keypoints = {}, []
    for side, robot_side in SIDES:
        ankle, toe = sc.joint[f"{side}_Ankle"], sc.joint[f"{side}_Toe"]
        mask = sc.foot_masks[robot_side]
        rest_z = np.median(ankle[mask, 2]) if mask.any() else ankle[:, 2].min()
        free = ankle.copy()
        free[:, 2] = FOOT_Z + np.maximum(ankle[:, 2] - rest_z, 0.0)
        locked = free.copy()
        yaw_dir = toe - ankle
        for a, b in segments(mask):
            locked[a:b, :2] = ankle[a:b, :2].mean(axis=0)
            locked[a:b, 2] = FOOT_Z
            yaw_dir[a:b] = yaw_dir[a:b].mean(axis=0)
        w = blend_weights(mask, fs.blend_frames)[:, None]
        # Outside stance the blend keeps a locked value only next to a segment.
        nearest_lock = locked.copy()
        for a, b in segments(mask):
            lo, hi = max(0, a - fs.blend_frames), min(n, b + fs.blend_frames)
            nearest_lock[lo:a] = locked[a]
            nearest_lock[b:hi] = locked[b - 1]
        target = w * nearest_lock + (1 - w) * free
        rot = _yaw_frame(yaw_dir)
        frame = f"{robot_side}_ankle_roll_link"
        targets[frame] = [
            FrameTarget(
                target[i],
                rot[i],
                fs.position_weight + (fs.stance_position_weight - fs.position_weight) * w[i, 0],
                fs.orientation_weight * (0.25 + 0.75 * w[i, 0]),
            )
            for i in range(n)
        ]
        keypoints.append((frame, sc.raw[:, names.index(f"{side}_Ankle")]))
    return targets, keypoints


def _hand_targets(motion: HumanMotion, sc: _Scaled, config: RetargetConfig,
                  hand_masks: dict[str, np.ndarray]) -> Targets:  # fmt: skip
    """Palms on the object's surface, object-relative, during (and blended around) the
    human's hand contact (``hand_masks``), facing it."""
    hs, names = config.hands, motion.joint_names
    pos = np.stack([sc.joint[name] for name in names], axis=1)
    margin = PALM_CLEARANCE + hs.surface_margin
    targets, keypoints = {}, []
    for side, robot_side in SIDES:
        human_palm = palm_points(motion.positions, names, side)  # unscaled: real object
        free = palm_points(pos, names, side)
        w = blend_weights(hand_masks[robot_side], hs.blend_frames)[:, None]
        on_object, normals = object_relative_targets(
            human_palm, motion.object_pos, motion.object_quat, sc.obj_pos, sc.parts, margin,
            w[:, 0] > 0,
        )  # fmt: skip
        blended = np.where(w > 0, w * np.nan_to_num(on_object) + (1 - w) * free, free)
        target = push_out(sc.parts, blended, sc.obj_pos, motion.object_quat, margin)
        # The palm faces the surface: the left palm normal is the hand's -y, the right's +y.
        facing = normals if robot_side == "left" else -normals
        frame = f"{robot_side}_palm"
        targets[frame] = [
            FrameTarget(target[i], None, hs.position_weight, hs.orientation_weight * w[i, 0],
                        align=(1, facing[i]) if w[i, 0] > 0 else None)
            for i in range(motion.num_frames)
        ]  # fmt: skip
        keypoints.append((frame, palm_points(sc.raw, names, side)))
    return targets, keypoints


def _solve(motion: HumanMotion, sc: _Scaled, config: RetargetConfig,
           targets: dict[str, list[FrameTarget]], ik_class: type[G1Ik],
           progress: Callable[[int], None] | None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """IK frame by frame with non-penetration passes against the object and the joints'
    speed limits: (configurations (T, nq), the joints' indices in them)."""
    fps, n = motion.fps, motion.num_frames
    ik = ik_class(config.ik.damping, config.ik.posture_weight, config.ik.velocity_weight)
    ik.reset(sc.joint["Pelvis"][0], _body_rotations(sc.joint)["pelvis"][0])
    check = PenetrationCheck(motion.object)
    inter = config.interaction
    qs = np.empty((n, ik.model.nq))
    step_dt = 1.0 / fps / config.ik.iterations
    max_step = g1.VELOCITY_LIMIT / fps  # hardware joint speed limits, per frame
    for i in range(n):
        frame_targets = {name: seq[i] for name, seq in targets.items()}
        iters = config.ik.first_frame_iterations if i == 0 else config.ik.iterations
        dt = 1.0 if i == 0 else step_dt  # the first frame starts far from its solution
        ik.smoothness.set_previous(qs[i - 1] if i > 0 else None, fps)
        q = ik.solve(frame_targets, iters, config.ik.orientation_iterations, dt)
        pushes: dict[str, FrameTarget] = {}
        for round_ in range(inter.penetration_rounds):
            # A body still inside another after a round is pushed harder: a push that
            # only balances the target pulling it in (a palm reaching past the hip) never
            # gets it out.
            new = check.pushes(
                q[:3], quat.xyzw_to_wxyz(q[3:7]), q[ik.joint_q], sc.obj_pos[i],
                motion.object_quat[i], inter.penetration_weight,
                inter.penetration_weight * inter.self_push_growth**round_,
            )  # fmt: skip
            if not new:
                break
            # Earlier pushes stay: dropping them lets those bodies sink back in.
            pushes.update(new)
            q = ik.solve({**frame_targets, **pushes}, inter.penetration_iterations, 0, step_dt)
        if i > 0:  # keep every joint within its speed limit from frame to frame
            q[ik.joint_q] = qs[i - 1, ik.joint_q] + np.clip(
                q[ik.joint_q] - qs[i - 1, ik.joint_q], -max_step, max_step
            )
            ik.configuration.update(q)
        qs[i] = q
        if progress is not None:
            progress(1)
    return qs, ik.joint_q


def _clip(motion: HumanMotion, sc: _Scaled, qs: np.ndarray, joint_q: np.ndarray,
          hand_masks: dict[str, np.ndarray]) -> MotionClip:  # fmt: skip
    """The solved configurations as a clip, joints within their limits, with the
    contact labels."""
    contact = np.zeros((motion.num_frames, len(CONTACT_NAMES)), np.uint8)
    contact[:, 0], contact[:, 1] = hand_masks["left"], hand_masks["right"]
    contact[:, 2], contact[:, 3] = sc.foot_masks["left"], sc.foot_masks["right"]
    if motion.contacts is not None:
        contact[:, 4] = (motion.contacts > 0.5).any(axis=1)
    return MotionClip(
        fps=motion.fps,
        root_pos=qs[:, :3].copy(),
        root_quat=quat.normalize(quat.xyzw_to_wxyz(qs[:, 3:7])),
        joint_pos=np.clip(qs[:, joint_q], g1.JOINT_LOWER, g1.JOINT_UPPER),
        object_pos=sc.obj_pos,
        object_quat=motion.object_quat,
        object=motion.object,
        contact=contact,
        source={
            **motion.source,
            "retarget": {"scale": sc.s, "tool": "retarget.pipeline", "version": 1},
        },
    )


def _sole_points(clip: MotionClip) -> np.ndarray:
    """(T,) lowest z of the foot capsules."""
    quats = clip.body_quat()
    pos = clip.body_pos()
    lowest = np.full(clip.num_frames, np.inf)
    for side in ("left", "right"):
        k = g1.BODY_NAMES.index(f"{side}_ankle_roll_link")
        for geom in g1.link(f"{side}_ankle_roll_link").geoms:
            for end in (geom.fromto[:3], geom.fromto[3:]):
                z = pos[:, k, 2] + quat.rotate(quats[:, k], np.asarray(end))[:, 2] - geom.radius
                lowest = np.minimum(lowest, z)
    return lowest


def _lift_out_of_floor(clip: MotionClip) -> MotionClip:
    lift = np.maximum(0.0, -_sole_points(clip))
    if not lift.any():
        return clip
    root = clip.root_pos.copy()
    root[:, 2] += lift
    return replace(clip, root_pos=root)


def _frame_positions(clip: MotionClip, frames: list[str]) -> np.ndarray:
    """World positions of G1 bodies or sites over the clip."""
    pos, quats = clip.body_pos(), clip.body_quat()
    out = []
    for f in frames:
        if f in g1.BODY_NAMES:
            out.append(pos[:, g1.BODY_NAMES.index(f)])
            continue
        link = next(lk for lk in g1.LINKS if any(s.name == f for s in lk.sites))
        site = next(s for s in link.sites if s.name == f)
        k = g1.BODY_NAMES.index(link.name)
        out.append(pos[:, k] + quat.rotate(quats[:, k], np.asarray(site.pos)))
    return np.stack(out, 1)
