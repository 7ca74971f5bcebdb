"""Height-based scaling of the human to the G1.

scale = G1 skeletal height / subject skeletal height, with skeletal height the summed
bone lengths ankle-knee-hip-pelvis-chest-head (the subject's median over the clip, the
G1's at the zero pose). Bone sums do not depend on posture, so a clip that starts
crouched or ends sitting is scaled like one that stands. The whole motion is scaled
about the world origin, so the floor stays at z = 0.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from retarget.motion import HumanMotion

HUMAN_CHAIN = ("L_Ankle", "L_Knee", "L_Hip", "Pelvis", "Chest", "Head")
# The same chain on the G1: ankle, knee, hip (roll), pelvis, torso, head centre.
ROBOT_CHAIN = (
    "left_ankle_roll_link",
    "left_knee_link",
    "left_hip_roll_link",
    "pelvis",
    "torso_link",
)
G1_HEAD_IN_TORSO = np.array([0.0, 0.0, 0.43])  # the head collision sphere's centre


@lru_cache(maxsize=1)
def robot_skeletal_height() -> float:
    import mujoco

    from robots.g1.mjcf import g1_spec

    model = g1_spec(actuators=False, sensors=False).compile()
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    pts = [data.xpos[model.body(n).id] for n in ROBOT_CHAIN]
    torso = model.body("torso_link").id
    pts.append(data.xpos[torso] + data.xmat[torso].reshape(3, 3) @ G1_HEAD_IN_TORSO)
    return float(sum(np.linalg.norm(b - a) for a, b in itertools.pairwise(pts)))


def human_skeletal_height(motion: HumanMotion) -> float:
    pts = [motion.joint(n) for n in HUMAN_CHAIN]
    lengths = sum(np.linalg.norm(b - a, axis=1) for a, b in itertools.pairwise(pts))
    return float(np.median(lengths))


def scale_factor(motion: HumanMotion, fixed: float = 0.0) -> float:
    if fixed > 0:
        return fixed
    return robot_skeletal_height() / human_skeletal_height(motion)


def scale_object_trajectory(object_pos: np.ndarray, scale: float) -> np.ndarray:
    """xy scaled like the body; z scaled relative to the object's resting height so an
    object on the floor stays on the floor while a lifted one rises s times as high."""
    out = object_pos * scale
    rest = object_pos[:, 2].min()
    out[:, 2] = rest + scale * (object_pos[:, 2] - rest)
    return out
