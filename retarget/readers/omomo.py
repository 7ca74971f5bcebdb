"""Raw OMOMO sequences: rest offsets + root/body axis-angles, forward kinematics over the
public SMPL parent table (no SMPL model needed).

OMOMO ships its sequences as joblib pickles; unpickling runs code, so this reader takes
one sequence saved as ``.npz`` with OMOMO's own key names (see README for the 5-line
conversion): ``trans`` (T, 3), ``root_orient`` (T, 3), ``pose_body`` (T, 63),
``rest_offsets`` (22 or 24, 3), ``trans2joint`` (3,), ``obj_trans`` (T, 3[, 1]),
``obj_rot`` (T, 3, 3), optional ``obj_scale`` (T,), ``seq_name`` (``sub<N>_<object>_<i>``).
OMOMO is z-up at 30 fps; the object frame is its ``<name>_cleaned_simplified.obj`` mesh.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from retarget.motion import HumanMotion, MotionError
from retarget.skeleton import SMPL_JOINTS, SMPL_PARENTS
from robots import quat
from robots.objects import ObjectSpec

FPS = 30.0
OBJECT_MASS = 3.0  # kg; OMOMO gives no masses


def smpl_forward_kinematics(
    root_pos: np.ndarray, local_rotvec: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World positions (T, J, 3) and rotation matrices (T, J, 3, 3) of an SMPL-tree skeleton.

    local_rotvec: (T, R, 3) axis-angles of the first R joints (root first); joints beyond R
    (OMOMO's index-finger proxies) inherit their parent's rotation.
    """
    t, j = len(root_pos), len(offsets)
    local = np.tile(np.eye(3), (t, j, 1, 1))
    r = local_rotvec.shape[1]
    local[:, :r] = Rotation.from_rotvec(local_rotvec.reshape(-1, 3)).as_matrix().reshape(t, r, 3, 3)
    rot = np.empty((t, j, 3, 3))
    pos = np.empty((t, j, 3))
    for k in range(j):
        p = SMPL_PARENTS[k]
        if p < 0:
            rot[:, k], pos[:, k] = local[:, k], root_pos
        else:
            rot[:, k] = rot[:, p] @ local[:, k]
            pos[:, k] = pos[:, p] + np.einsum("tij,j->ti", rot[:, p], offsets[k])
    return pos, rot


def read_omomo(path: str | Path, objects_root: str | Path | None = None) -> HumanMotion:
    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        d = {k: data[k] for k in data.files}
    need = (
        "trans",
        "root_orient",
        "pose_body",
        "rest_offsets",
        "trans2joint",
        "obj_trans",
        "obj_rot",
    )
    missing = [k for k in need if k not in d]
    if missing:
        raise MotionError(f"{path}: OMOMO field {missing[0]!r} is missing")
    trans = np.asarray(d["trans"], float)
    t = len(trans)
    offsets = np.asarray(d["rest_offsets"], float)
    if offsets.shape not in ((22, 3), (24, 3)):
        raise MotionError(f"{path}: OMOMO field 'rest_offsets' has shape {offsets.shape}")
    shapes = {"trans": (t, 3), "root_orient": (t, 3), "pose_body": (t, 63), "obj_rot": (t, 3, 3)}
    for k, shape in shapes.items():
        if np.shape(d[k]) != shape:
            raise MotionError(
                f"{path}: OMOMO field {k!r} has shape {np.shape(d[k])}, expected {shape}"
            )
    obj_trans = np.asarray(d["obj_trans"], float).reshape(t, 3)
    scale = np.asarray(d.get("obj_scale", np.ones(t)), float).ravel()
    if np.abs(scale - 1).max() > 1e-3:
        raise MotionError(
            f"{path}: OMOMO field 'obj_scale' is {scale.max():g}; rescale the mesh first"
        )
    for k in ("trans", "root_orient", "pose_body", "obj_rot"):
        if not np.all(np.isfinite(d[k])):
            raise MotionError(f"{path}: OMOMO field {k!r} contains NaN or inf")
    # OMOMO's root joint is the translation minus trans2joint (its hand_foot_dataset).
    root = trans - np.asarray(d["trans2joint"], float).reshape(1, 3)
    rotvec = np.concatenate(
        [d["root_orient"][:, None], np.asarray(d["pose_body"]).reshape(t, 21, 3)], 1
    )
    pos, rot = smpl_forward_kinematics(root, rotvec, offsets)
    names = SMPL_JOINTS[: len(offsets)]
    seq = str(d.get("seq_name", path.stem))
    parts = seq.split("_")
    obj_name = parts[1] if len(parts) >= 3 else "object"
    folder = Path(objects_root) if objects_root is not None else path.parent
    mesh = folder / f"{obj_name}_cleaned_simplified.obj"
    if not mesh.is_file():
        mesh = folder / obj_name / f"{obj_name}.obj"
    obj = ObjectSpec(obj_name, "mesh", path=str(mesh), mass=OBJECT_MASS)
    try:
        return HumanMotion(
            fps=FPS,
            joint_names=names,
            positions=pos,
            object_pos=obj_trans,
            object_quat=quat.from_matrix(np.asarray(d["obj_rot"], float)),
            object=obj,
            rotations=quat.from_matrix(rot),
            source={"format": "omomo", "file": path.name, "seq_name": seq},
        )
    except MotionError as e:
        raise MotionError(f"{path}: {e}") from None
