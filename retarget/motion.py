"""The in-memory human + object motion every reader produces and the retargeter consumes.

World frame z-up, metres, quaternions (w, x, y, z). Joint names are the canonical
InterAct/SMPL-H names of :mod:`retarget.skeleton`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from robots import quat
from robots.objects import ObjectSpec


class MotionError(ValueError):
    """Input motion that cannot be used; the message names the field and the problem."""


@dataclass(frozen=True)
class HumanMotion:
    fps: float
    joint_names: tuple[str, ...]
    positions: np.ndarray  # (T, J, 3) joint world positions
    object_pos: np.ndarray  # (T, 3) object frame origin
    object_quat: np.ndarray  # (T, 4) object orientation, wxyz
    object: ObjectSpec
    rotations: np.ndarray | None = None  # (T, J, 4) global joint orientations, wxyz
    contacts: np.ndarray | None = None  # (T, J) 1 contact, -1 sure non-contact, 0 unknown
    source: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def num_frames(self) -> int:
        return len(self.positions)

    def index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise MotionError(f"motion has no joint {name!r}") from None

    def has(self, name: str) -> bool:
        return name in self.joint_names

    def joint(self, name: str) -> np.ndarray:
        return self.positions[:, self.index(name)]

    def resample(self, fps: float) -> HumanMotion:
        """Resample to ``fps``: linear for positions, slerp for rotations, nearest for labels."""
        if not (np.isfinite(fps) and fps > 0):
            raise MotionError(f"target fps must be > 0, got {fps}")
        if abs(fps - self.fps) < 1e-9 or self.num_frames < 2:
            return self
        duration = (self.num_frames - 1) / self.fps
        s = np.arange(int(np.floor(duration * fps + 1e-9)) + 1) * (self.fps / fps)
        i0 = np.minimum(np.floor(s).astype(int), self.num_frames - 2)
        w = s - i0

        def lerp(a: np.ndarray) -> np.ndarray:
            wb = w.reshape(-1, *([1] * (a.ndim - 1)))
            return (1 - wb) * a[i0] + wb * a[i0 + 1]

        def slerp(q: np.ndarray) -> np.ndarray:
            ww = w.reshape(-1, *([1] * (q.ndim - 2)))
            return quat.slerp(q[i0], q[i0 + 1], np.broadcast_to(ww, q[i0].shape[:-1]))

        nearest = np.minimum(np.round(s).astype(int), self.num_frames - 1)
        return replace(
            self,
            fps=float(fps),
            positions=lerp(self.positions),
            object_pos=lerp(self.object_pos),
            object_quat=slerp(self.object_quat),
            rotations=None if self.rotations is None else slerp(self.rotations),
            contacts=None if self.contacts is None else self.contacts[nearest],
            source={**self.source, "resampled_from_fps": self.fps},
        )


def _fail(name: str, problem: str) -> None:
    raise MotionError(f"motion field {name!r}: {problem}")


def _finite(name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        _fail(name, f"contains NaN or inf (first at frame {int(np.argwhere(bad)[0][0])})")


def _validate(m: HumanMotion) -> None:
    if not (np.isfinite(m.fps) and 0 < m.fps <= 1000):
        _fail("fps", f"must be in (0, 1000], got {m.fps}")
    if len(set(m.joint_names)) != len(m.joint_names):
        _fail("joint_names", "contains duplicates")
    j = len(m.joint_names)
    if m.positions.ndim != 3 or m.positions.shape[1:] != (j, 3) or len(m.positions) < 2:
        _fail("positions", f"has shape {m.positions.shape}, expected (T >= 2, {j}, 3)")
    t = len(m.positions)
    shapes = {"object_pos": (t, 3), "object_quat": (t, 4)}
    if m.rotations is not None:
        shapes["rotations"] = (t, j, 4)
    if m.contacts is not None:
        shapes["contacts"] = (t, j)
    for name, shape in shapes.items():
        a = getattr(m, name)
        if a.shape != shape:
            _fail(name, f"has shape {a.shape}, expected {shape}")
    for name in ("positions", "object_pos", "object_quat", "rotations", "contacts"):
        if getattr(m, name) is not None:
            _finite(name, getattr(m, name))
    for name in ("object_quat", "rotations"):
        q = getattr(m, name)
        if q is not None and np.abs(np.linalg.norm(q, axis=-1) - 1).max() > 1e-3:
            _fail(name, "holds non-unit quaternions (expected unit (w, x, y, z))")
    if np.abs(m.positions).max() > 100 or np.abs(m.object_pos).max() > 100:
        _fail("positions", "has values above 100; positions must be in metres")
