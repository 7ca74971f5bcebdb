"""Human joint names. The canonical names are InterAct's 52 SMPL-H joints (its
depth-first MuJoCo order); readers of other formats rename their joints to these."""

from __future__ import annotations

_FINGERS = [f"{f}{i}" for f in ("Index", "Middle", "Pinky", "Ring", "Thumb") for i in (1, 2, 3)]

INTERACT_JOINTS: tuple[str, ...] = (
    "Pelvis", "L_Hip", "L_Knee", "L_Ankle", "L_Toe", "R_Hip", "R_Knee", "R_Ankle", "R_Toe",
    "Torso", "Spine", "Chest", "Neck", "Head",
    "L_Thorax", "L_Shoulder", "L_Elbow", "L_Wrist", *[f"L_{f}" for f in _FINGERS],
    "R_Thorax", "R_Shoulder", "R_Elbow", "R_Wrist", *[f"R_{f}" for f in _FINGERS],
)  # fmt: skip

# SMPL / SMPL-H body joints (OMOMO's joints24 = these 22 + left/right index1), with the
# public SMPL kinematic tree, renamed to the canonical names.
SMPL_JOINTS: tuple[str, ...] = (
    "Pelvis", "L_Hip", "R_Hip", "Torso", "L_Knee", "R_Knee", "Spine", "L_Ankle", "R_Ankle",
    "Chest", "L_Toe", "R_Toe", "Neck", "L_Thorax", "R_Thorax", "Head", "L_Shoulder",
    "R_Shoulder", "L_Elbow", "R_Elbow", "L_Wrist", "R_Wrist", "L_Index1", "R_Index1",
)  # fmt: skip
SMPL_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)  # fmt: skip


def hand_joints(side: str) -> tuple[str, ...]:
    """The joints whose contact labels mean "this hand touches the object"."""
    return (f"{side}_Wrist", *[f"{side}_{f}" for f in _FINGERS])
