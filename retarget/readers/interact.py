"""InterAct simulation files (``<subject>_<object>_<index>.pt``, a (T, 591) float tensor
at 30 fps, z-up, quaternions xyzw); the layout is documented in the README."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retarget.motion import HumanMotion, MotionError
from retarget.skeleton import INTERACT_JOINTS
from robots.objects import omomo_object
from robots.quat import xyzw_to_wxyz

COLUMNS = 591
FPS = 30.0


def read_interact(
    path: str | Path, objects_root: str | Path | None = None, collision: str | None = None
) -> HumanMotion:
    import torch  # only this reader needs torch

    path = Path(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        raise MotionError(f"{path}: cannot read as an InterAct .pt tensor ({e})") from None
    if not isinstance(data, torch.Tensor):
        raise MotionError(f"{path}: expected one tensor, got {type(data).__name__}")
    a = data.detach().to(torch.float64).numpy()
    if a.ndim != 2 or a.shape[1] != COLUMNS or a.shape[0] < 2:
        raise MotionError(f"{path}: expected a (T >= 2, {COLUMNS}) tensor, got {tuple(a.shape)}")
    parts = path.stem.split("_")
    if len(parts) < 3:
        raise MotionError(f"{path}: file name must be <subject>_<object>_<index>.pt")
    obj = omomo_object(parts[-2], root=objects_root, collision=collision)
    t = len(a)
    object_quat = xyzw_to_wxyz(a[:, 321:325])
    rotations = xyzw_to_wxyz(a[:, 383:591].reshape(t, 52, 4))
    try:
        return HumanMotion(
            fps=FPS,
            joint_names=INTERACT_JOINTS,
            positions=a[:, 162:318].reshape(t, 52, 3),
            object_pos=a[:, 318:321],
            object_quat=object_quat / np.linalg.norm(object_quat, axis=1, keepdims=True),
            object=obj,
            rotations=rotations / np.linalg.norm(rotations, axis=2, keepdims=True),
            contacts=np.round(a[:, 331:383]),
            source={"format": "interact", "file": path.name, "subject": parts[0]},
        )
    except MotionError as e:
        raise MotionError(f"{path}: {e}") from None
