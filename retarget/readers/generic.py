"""The generic human+object ``.npz`` any dataset can be converted to (see README):

| key | shape | meaning |
|---|---|---|
| fps | scalar | frames per second |
| joint_names | (J,) str | canonical joint names (retarget.skeleton), others are ignored |
| positions | (T, J, 3) | joint world positions, m |
| rotations | (T, J, 4), optional | global joint orientations, wxyz |
| object_pos, object_quat | (T, 3), (T, 4) | object pose, wxyz |
| object | str (JSON) | robots.objects.ObjectSpec; relative paths from the file's folder |
| contacts | (T, J), optional | 1 contact with the object, -1 sure non-contact, 0 unknown |
| up_axis | str, optional | "z" (default) or "y" (rotated to z-up on reading) |
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retarget.motion import HumanMotion, MotionError
from robots import quat
from robots.objects import ObjectSpec

REQUIRED = ("fps", "joint_names", "positions", "object_pos", "object_quat", "object")
# +90 deg about x takes a y-up world to z-up: (x, y, z) -> (x, -z, y).
Y_TO_Z = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
Y_TO_Z_QUAT = np.array([np.sqrt(0.5), np.sqrt(0.5), 0.0, 0.0])


def read_generic(path: str | Path) -> HumanMotion:
    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in REQUIRED if k not in data.files]
        if missing:
            raise MotionError(f"{path}: motion field {missing[0]!r} is missing")
        arrays = {k: data[k] for k in data.files}
    try:
        up = str(arrays.get("up_axis", "z"))
        if up not in ("y", "z"):
            raise MotionError(f"motion field 'up_axis': must be 'y' or 'z', got {up!r}")
        positions = np.asarray(arrays["positions"], dtype=np.float64)
        object_pos = np.asarray(arrays["object_pos"], dtype=np.float64)
        object_quat = np.asarray(arrays["object_quat"], dtype=np.float64)
        rotations = arrays.get("rotations")
        if up == "y":
            positions = positions @ Y_TO_Z.T
            object_pos = object_pos @ Y_TO_Z.T
            object_quat = quat.multiply(Y_TO_Z_QUAT, object_quat)
            if rotations is not None:
                rotations = quat.multiply(Y_TO_Z_QUAT, rotations)
        try:
            obj = ObjectSpec.from_json(str(arrays["object"]), base_dir=path.parent)
        except ValueError as e:
            raise MotionError(f"motion field 'object': {e}") from None
        return HumanMotion(
            fps=float(arrays["fps"]),
            joint_names=tuple(str(n) for n in np.asarray(arrays["joint_names"]).ravel()),
            positions=positions,
            object_pos=object_pos,
            object_quat=object_quat,
            object=obj,
            rotations=None if rotations is None else np.asarray(rotations, dtype=np.float64),
            contacts=None if "contacts" not in arrays else np.asarray(arrays["contacts"], float),
            source={"format": "generic", "file": path.name, "up_axis": up},
        )
    except (MotionError, TypeError) as e:
        raise MotionError(f"{path}: {e}") from None


def write_generic(motion: HumanMotion, path: str | Path) -> Path:
    """Write a motion in the generic layout (z-up), atomically."""
    from common.atomic import atomic_path

    arrays = dict(
        fps=np.array(motion.fps),
        joint_names=np.array(motion.joint_names),
        positions=motion.positions,
        object_pos=motion.object_pos,
        object_quat=motion.object_quat,
        object=np.array(motion.object.to_json()),
        up_axis=np.array("z"),
    )
    if motion.rotations is not None:
        arrays["rotations"] = motion.rotations
    if motion.contacts is not None:
        arrays["contacts"] = motion.contacts
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return Path(path)
