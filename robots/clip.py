"""The motion-clip format: one G1 + one object trajectory, as a plain ``.npz``.

Any tool can read a clip with ``numpy.load(path)`` alone. Schema ``g1hoi.clip`` v1:

| key | shape, type | meaning |
|---|---|---|
| schema | str | "g1hoi.clip" |
| version | int | schema version (1) |
| fps | float scalar | frames per second |
| joint_names | (29,) str | joint of each joint_pos column (motor order when written here) |
| root_pos | (T, 3) float | pelvis position in the world, m, z up |
| root_quat | (T, 4) float | pelvis orientation, unit quaternion (w, x, y, z) |
| joint_pos | (T, 29) float | joint angles, rad |
| object_pos | (T, 3) float | object frame origin in the world, m |
| object_quat | (T, 4) float | object orientation, unit quaternion (w, x, y, z) |
| object | str, JSON | the object as ObjectSpec fields (name, shape, size/path, mass...) |
| contact | (T, 5) uint8 | per-frame 0/1 labels, columns named by contact_names |
| contact_names | (5,) str | left_hand, right_hand (hand touches the object), left_foot, |
|               |          | right_foot (foot on the ground), object (object touches robot) |
| source | str, JSON | provenance: dataset, file, tool and version, options |

Velocities and body positions are not stored: they are derived on demand (finite
differences, forward kinematics) so that they can never disagree with the positions.
"""

from __future__ import annotations

import json
import threading
import zipfile
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

import mujoco
import numpy as np

from common.atomic import atomic_path
from robots import g1, quat
from robots.objects import ObjectSpec

SCHEMA = "g1hoi.clip"
VERSION = 1
CONTACT_NAMES: tuple[str, ...] = ("left_hand", "right_hand", "left_foot", "right_foot", "object")
REQUIRED = (
    "schema", "version", "fps", "joint_names", "root_pos", "root_quat", "joint_pos",
    "object_pos", "object_quat", "object", "contact", "contact_names", "source",
)  # fmt: skip
QUAT_TOL = 1e-3  # allowed | |q| - 1 |; float32 storage keeps ~1e-7
MAX_ABS_POS = 100.0  # m; larger values mean the file is in mm/cm or corrupt
MAX_ABS_ANGLE = 2 * np.pi  # rad; larger values mean degrees


class ClipError(ValueError):
    """A clip file or array that does not follow the schema; the message names the field."""


@dataclass(frozen=True)
class MotionClip:
    fps: float
    root_pos: np.ndarray
    root_quat: np.ndarray
    joint_pos: np.ndarray
    object_pos: np.ndarray
    object_quat: np.ndarray
    object: ObjectSpec
    contact: np.ndarray
    source: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("root_pos", "root_quat", "joint_pos", "object_pos", "object_quat", "contact"):
            if not isinstance(getattr(self, name), np.ndarray):
                object.__setattr__(self, name, np.asarray(getattr(self, name)))
        _validate(self)
        for name in ("root_pos", "root_quat", "joint_pos", "object_pos", "object_quat"):
            object.__setattr__(self, name, getattr(self, name).astype(np.float64))
        object.__setattr__(self, "contact", self.contact.astype(np.uint8))

    @property
    def num_frames(self) -> int:
        return len(self.root_pos)

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) / self.fps

    @property
    def dt(self) -> float:
        return 1.0 / self.fps

    def contact_of(self, name: str) -> np.ndarray:
        """(T,) bool contact label by name (see ``CONTACT_NAMES``)."""
        if name not in CONTACT_NAMES:
            raise KeyError(f"unknown contact label {name!r}; known: {CONTACT_NAMES}")
        return self.contact[:, CONTACT_NAMES.index(name)].astype(bool)

    # Derived quantities -------------------------------------------------------------

    def joint_vel(self) -> np.ndarray:
        return (
            np.gradient(self.joint_pos, self.dt, axis=0)
            if self.num_frames > 1
            else 0 * self.joint_pos
        )

    def root_lin_vel(self) -> np.ndarray:
        return _lin_vel(self.root_pos, self.dt)

    def root_ang_vel(self) -> np.ndarray:
        """World-frame angular velocity of the pelvis, rad/s."""
        return quat.angular_velocity(self.root_quat, self.dt)

    def object_lin_vel(self) -> np.ndarray:
        return _lin_vel(self.object_pos, self.dt)

    def object_ang_vel(self) -> np.ndarray:
        return quat.angular_velocity(self.object_quat, self.dt)

    def qpos(self) -> np.ndarray:
        """(T, 43) MuJoCo qpos of a one-object scene: robot free joint, joints, object."""
        return np.concatenate(
            [self.root_pos, self.root_quat, self.joint_pos, self.object_pos, self.object_quat],
            axis=1,
        )

    @cached_property
    def _kinematics(self) -> tuple[np.ndarray, np.ndarray]:
        return forward_kinematics(self.root_pos, self.root_quat, self.joint_pos)

    def body_pos(self) -> np.ndarray:
        """(T, 30, 3) world positions of the G1 bodies (order ``g1.BODY_NAMES``)."""
        return self._kinematics[0]

    def body_quat(self) -> np.ndarray:
        """(T, 30, 4) world orientations (w, x, y, z) of the G1 bodies."""
        return self._kinematics[1]

    def body_lin_vel(self) -> np.ndarray:
        return _lin_vel(self.body_pos(), self.dt)

    def slice(self, start: int, stop: int | None = None) -> MotionClip:
        s = np.s_[start:stop]
        return replace(
            self,
            root_pos=self.root_pos[s],
            root_quat=self.root_quat[s],
            joint_pos=self.joint_pos[s],
            object_pos=self.object_pos[s],
            object_quat=self.object_quat[s],
            contact=self.contact[s],
        )

    def resample(self, fps: float) -> MotionClip:
        """The clip at another frame rate: linear for positions, slerp for orientations,
        nearest frame for contact labels."""
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"target fps must be > 0, got {fps}")
        if self.num_frames < 2 or abs(fps - self.fps) < 1e-9:
            return replace(self, fps=float(fps)) if self.num_frames < 2 else self
        s = np.arange(int(np.floor(self.duration * fps + 1e-9)) + 1) * (self.fps / fps)
        i0 = np.minimum(np.floor(s).astype(int), self.num_frames - 2)
        w = (s - i0)[:, None]
        nearest = np.minimum(np.round(s).astype(int), self.num_frames - 1)

        def lerp(a: np.ndarray) -> np.ndarray:
            return (1 - w) * a[i0] + w * a[i0 + 1]

        return replace(
            self,
            fps=float(fps),
            root_pos=lerp(self.root_pos),
            root_quat=quat.slerp(self.root_quat[i0], self.root_quat[i0 + 1], w[:, 0]),
            joint_pos=lerp(self.joint_pos),
            object_pos=lerp(self.object_pos),
            object_quat=quat.slerp(self.object_quat[i0], self.object_quat[i0 + 1], w[:, 0]),
            contact=self.contact[nearest],
        )

    def start_place(self) -> tuple[float, float, float]:
        """x, y and heading of the pelvis at the first frame: where the robot stands to
        start the clip."""
        return (*map(float, self.root_pos[0, :2]), float(quat.yaw(self.root_quat[0])))

    def with_lead_in(self, seconds: float) -> MotionClip:
        """The clip preceded by ``seconds`` of the way from the G1's default standing pose
        (at the first frame's place and heading, where the robot node hands over to a
        policy) to its first frame: a quarter of it standing still, the rest a smooth
        blend; the object stays where the first frame has it, the hands off it."""
        from robots.g1.mjcf import default_qpos

        if not (np.isfinite(seconds) and seconds > 0):
            raise ValueError(f"lead-in must be > 0 s, got {seconds}")
        n = max(2, round(seconds * self.fps))
        t = np.clip((np.arange(n) / n - 0.25) / 0.75, 0.0, 1.0)
        w = (t * t * (3 - 2 * t))[:, None]  # smoothstep: starts and ends at rest
        standing_qpos = default_qpos(self.start_place())
        standing, heading = standing_qpos[:3], standing_qpos[3:7]
        contact = np.repeat(self.contact[:1], n, axis=0)
        contact[:, :2] = 0
        lead = dict(
            root_pos=(1 - w) * standing + w * self.root_pos[0],
            root_quat=quat.slerp(heading, self.root_quat[0], w[:, 0]),
            joint_pos=(1 - w) * g1.DEFAULT_POS + w * self.joint_pos[0],
            object_pos=np.repeat(self.object_pos[:1], n, axis=0),
            object_quat=np.repeat(self.object_quat[:1], n, axis=0),
            contact=contact,
        )
        joined = {k: np.concatenate([v, getattr(self, k)]) for k, v in lead.items()}
        return replace(self, **joined, source={**self.source, "lead_in_s": n / self.fps})

    # I/O ------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the clip atomically (temp file + rename); returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"clip files end in .npz, got {path}")
        arrays = dict(
            schema=np.array(SCHEMA),
            version=np.array(VERSION),
            fps=np.array(float(self.fps)),
            joint_names=np.array(g1.JOINT_NAMES),
            root_pos=self.root_pos.astype(np.float32),
            root_quat=self.root_quat.astype(np.float32),
            joint_pos=self.joint_pos.astype(np.float32),
            object_pos=self.object_pos.astype(np.float32),
            object_quat=self.object_quat.astype(np.float32),
            object=np.array(self.object.to_json()),
            contact=self.contact.astype(np.uint8),
            contact_names=np.array(CONTACT_NAMES),
            source=np.array(json.dumps(self.source, sort_keys=True)),
        )
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        return path


def _lin_vel(pos: np.ndarray, dt: float) -> np.ndarray:
    return np.gradient(pos, dt, axis=0) if len(pos) > 1 else np.zeros_like(pos)


def _fail(name: str, problem: str) -> None:
    raise ClipError(f"clip field {name!r}: {problem}")


def _check_array(name: str, a: np.ndarray, cols: int, frames: int) -> None:
    if a.dtype.kind not in "fiu":
        _fail(name, f"must be numeric, got dtype {a.dtype}")
    if a.shape != (frames, cols):
        _fail(name, f"has shape {a.shape}, expected ({frames}, {cols})")
    bad = ~np.isfinite(a)
    if bad.any():
        frame = int(np.argwhere(bad)[0][0])
        _fail(name, f"contains NaN or inf (first at frame {frame})")


def _validate(clip: MotionClip) -> None:
    if not (np.isfinite(clip.fps) and 0 < clip.fps <= 1000):
        _fail("fps", f"must be in (0, 1000] frames per second, got {clip.fps}")
    per_frame = ("root_pos", "root_quat", "joint_pos", "object_pos", "object_quat", "contact")
    lengths = {k: len(getattr(clip, k)) if getattr(clip, k).ndim else 0 for k in per_frame}
    counts = list(lengths.values())
    t = max(set(counts), key=counts.count)  # the frame count most fields agree on
    if t < 1:
        _fail("root_pos", "has no frames")
    for name, n in lengths.items():
        if n != t:
            _fail(name, f"has {n} frames while the other fields have {t}")
    for name, cols in (
        ("root_pos", 3), ("root_quat", 4), ("joint_pos", g1.NUM_JOINTS),
        ("object_pos", 3), ("object_quat", 4), ("contact", len(CONTACT_NAMES)),
    ):  # fmt: skip
        _check_array(name, getattr(clip, name), cols, t)
    for name in ("root_quat", "object_quat"):
        err = np.abs(np.linalg.norm(getattr(clip, name), axis=1) - 1.0)
        if err.max() > QUAT_TOL:
            frame = int(err.argmax())
            _fail(name, f"is not a unit quaternion (w, x, y, z) at frame {frame} "
                  f"(|norm - 1| = {err[frame]:.3g})")  # fmt: skip
    for name in ("root_pos", "object_pos"):
        peak = float(np.abs(getattr(clip, name)).max())
        if peak > MAX_ABS_POS:
            _fail(name, f"has values up to {peak:.4g}; positions must be in metres")
    peak = float(np.abs(clip.joint_pos).max())
    if peak > MAX_ABS_ANGLE:
        _fail("joint_pos", f"has values up to {peak:.4g}; joint angles must be in radians")
    if not np.isin(clip.contact, (0, 1)).all():
        _fail("contact", "labels must be 0 or 1")
    if not isinstance(clip.object, ObjectSpec):
        _fail("object", f"must be an ObjectSpec, got {type(clip.object).__name__}")
    if not isinstance(clip.source, dict):
        _fail("source", "must be a dict of provenance metadata")


def _text(data, name: str) -> str:
    a = data[name]
    if a.shape != () or a.dtype.kind != "U":
        _fail(name, f"must be a text scalar, got dtype {a.dtype} shape {a.shape}")
    return str(a)


def _motor_order(names: np.ndarray) -> np.ndarray:
    """Column permutation that brings a file's joint columns into motor order."""
    names = [str(n) for n in np.asarray(names).ravel()]
    unknown = [n for n in names if n not in g1.JOINT_NAMES]
    if unknown:
        _fail("joint_names", f"unknown G1 joints {unknown}")
    missing = [n for n in g1.JOINT_NAMES if n not in names]
    if missing or len(names) != g1.NUM_JOINTS:
        _fail("joint_names", f"must name each of the 29 G1 joints once; missing {missing}")
    return np.array([names.index(n) for n in g1.JOINT_NAMES])


def load_clip(path: str | Path) -> MotionClip:
    """Read and validate a clip; columns are reordered to motor order by joint name.

    Relative object geometry paths are resolved against the clip's folder.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"clip file not found: {path}")
    try:
        data = np.load(path, allow_pickle=False)
        keys = set(data.files)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ClipError(f"{path}: not a readable .npz clip ({e})") from None
    with data:
        if any(k.endswith("data.pkl") for k in keys):  # torch.save's zip layout
            raise ClipError(
                f"{path} is a PyTorch file (an InterAct human motion or a checkpoint), not "
                "a G1 motion clip: retarget human motion first (`python -m retarget FILE "
                "--out DIR` writes DIR/<name>.npz)"
            )
        missing = [k for k in REQUIRED if k not in keys]
        if missing:
            raise ClipError(
                f"{path}: clip field {missing[0]!r} is missing (all missing: {missing}); "
                "human motion files are retargeted to G1 clips first (`python -m retarget "
                "FILE --out DIR`)"
            )
        try:
            if _text(data, "schema") != SCHEMA:
                _fail("schema", f"expected {SCHEMA!r}, got {_text(data, 'schema')!r}")
            version = int(data["version"])
            if version > VERSION:
                _fail("version", f"clip is schema v{version}, this reader knows up to v{VERSION}")
            names = [str(n) for n in data["contact_names"].ravel()]
            if names != list(CONTACT_NAMES):
                _fail("contact_names", f"expected {list(CONTACT_NAMES)}, got {names}")
            fps = data["fps"]
            if fps.shape != () or fps.dtype.kind not in "fiu":
                _fail("fps", f"must be a numeric scalar, got shape {fps.shape} dtype {fps.dtype}")
            joint_pos = np.asarray(data["joint_pos"], dtype=np.float64)
            if joint_pos.ndim == 2 and joint_pos.shape[1] == g1.NUM_JOINTS:
                joint_pos = joint_pos[:, _motor_order(data["joint_names"])]
            try:
                obj = ObjectSpec.from_json(_text(data, "object"), base_dir=path.parent)
            except ValueError as e:
                _fail("object", str(e))
            try:
                source = json.loads(_text(data, "source"))
            except json.JSONDecodeError as e:
                _fail("source", f"is not valid JSON ({e})")

            def num(k: str) -> np.ndarray:
                a = data[k]
                if a.dtype.kind not in "fiub":
                    _fail(k, f"must be numeric, got dtype {a.dtype}")
                return a.astype(np.float64)

            return MotionClip(
                fps=float(fps),
                root_pos=num("root_pos"),
                root_quat=num("root_quat"),
                joint_pos=joint_pos,
                object_pos=num("object_pos"),
                object_quat=num("object_quat"),
                object=obj,
                contact=num("contact"),
                source=source,
            )
        except ClipError as e:
            raise ClipError(f"{path}: {e}") from None


@lru_cache(maxsize=1)
def _kinematic_model() -> mujoco.MjModel:
    from robots.g1.mjcf import g1_spec

    return g1_spec(actuators=False, sensors=False).compile()


_scratch = threading.local()  # one MjData per thread: allocating one costs ~0.3 ms


def _kinematic_data() -> mujoco.MjData:
    if not hasattr(_scratch, "data"):
        _scratch.data = mujoco.MjData(_kinematic_model())
    return _scratch.data


def forward_kinematics(
    root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World (T, 30, 3) positions and (T, 30, 4) wxyz orientations of the G1 bodies."""
    model, data = _kinematic_model(), _kinematic_data()
    t = len(root_pos)
    pos = np.empty((t, model.nbody - 1, 3))
    rot = np.empty((t, model.nbody - 1, 4))
    for i in range(t):
        data.qpos[:3] = root_pos[i]
        data.qpos[3:7] = root_quat[i]
        data.qpos[7:] = joint_pos[i]
        mujoco.mj_kinematics(model, data)
        pos[i] = data.xpos[1:]
        rot[i] = data.xquat[1:]
    return pos, rot
