"""The embedded default: a kinematic G1 clip made from the model alone (no data needed).

The G1 holds a box between its palms, squats and lifts it to chest height and back,
with both feet planted (root placed by forward kinematics so the feet never move).
It exercises the clip format, the scene builder and the renderer on a fresh machine.
"""

from __future__ import annotations

import numpy as np

from robots import g1, quat
from robots.clip import CONTACT_NAMES, MotionClip, forward_kinematics
from robots.objects import ObjectSpec


def _pose(squat: float, lift: float) -> np.ndarray:
    q = g1.DEFAULT_POS.copy()
    for side in ("left", "right"):
        q[g1.joint_index(f"{side}_hip_pitch_joint")] -= squat
        q[g1.joint_index(f"{side}_knee_joint")] += 2 * squat
        q[g1.joint_index(f"{side}_ankle_pitch_joint")] -= squat
        q[g1.joint_index(f"{side}_shoulder_pitch_joint")] = 0.2 - lift
        q[g1.joint_index(f"{side}_elbow_joint")] = 0.9 - 0.5 * lift
        q[g1.joint_index(f"{side}_shoulder_roll_joint")] = 0.05 if side == "left" else -0.05
    return q


def demo_clip(fps: float = 30.0, duration: float = 6.0) -> MotionClip:
    t = np.arange(round(duration * fps) + 1) / fps
    phase = 0.5 - 0.5 * np.cos(2 * np.pi * t / duration)  # 0 -> 1 -> 0, smooth
    squat = 0.35 * np.sin(np.pi * phase) ** 2  # squat on the way up and down
    lift = 1.0 * phase
    joint_pos = np.stack([_pose(s, a) for s, a in zip(squat, lift, strict=True)])
    ident = np.tile([1.0, 0.0, 0.0, 0.0], (len(t), 1))

    names = g1.BODY_NAMES
    foot = names.index("left_ankle_roll_link")
    pos, _ = forward_kinematics(np.zeros((len(t), 3)), ident, joint_pos)
    # Keep the left ankle where it is at frame 0 with the pelvis at the default height.
    root_pos = pos[0, foot] - pos[:, foot] + np.array([0.0, 0.0, g1.DEFAULT_ROOT_HEIGHT])
    pos, _ = forward_kinematics(root_pos, ident, joint_pos)

    palms = np.stack([pos[:, names.index(f"{s}_wrist_yaw_link")] for s in ("left", "right")], 1)
    width = float(np.linalg.norm(palms[0, 0] - palms[0, 1])) - 2 * g1.HAND_RADIUS
    box = ObjectSpec("box", "box", size=(0.25, round(width, 3), 0.2), mass=1.0)
    # Box centred between the hands, a hand-length ahead of the wrists.
    object_pos = palms.mean(axis=1) + np.array([0.1, 0.0, 0.0])
    contact = np.ones((len(t), len(CONTACT_NAMES)), dtype=np.uint8)
    return MotionClip(
        fps=fps,
        root_pos=root_pos,
        root_quat=ident,
        joint_pos=joint_pos,
        object_pos=object_pos,
        object_quat=quat.normalize(ident),
        object=box,
        contact=contact,
        source={"generator": "robots.demo.demo_clip", "fps": fps, "duration": duration},
    )
