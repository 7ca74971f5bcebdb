"""Rigid objects for HOI scenes: primitives, meshes (OBJ/STL) and surface point clouds.

An :class:`ObjectSpec` is plain data (JSON-serializable) so a motion clip can name the
object it was recorded with. The object frame is the frame of the source geometry:
a mesh or point cloud keeps its own coordinates; primitives are centred at the origin.
Sizes are full extents in metres (a box of size (0.3, 0.4, 0.3) is 30 cm wide).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import mujoco
import numpy as np

from common.array_namespace import like, namespace

if TYPE_CHECKING:
    import trimesh


def _trimesh():
    """trimesh, imported where a mesh is made: the robot side (numpy + onnxruntime)
    imports this module without it."""
    import trimesh

    return trimesh


Shape = Literal["box", "cylinder", "capsule", "sphere", "mesh", "points"]
_SIZE_LEN = {"box": 3, "cylinder": 2, "capsule": 2, "sphere": 1, "mesh": 0, "points": 0}
OMOMO_ENV = "G1HOI_OMOMO_OBJECTS"


@dataclass(frozen=True)
class ObjectSpec:
    """One free rigid object.

    size: box (x, y, z) extents; cylinder (radius, height); capsule (radius, length of the
    straight part); sphere (radius,); unused for mesh/points.
    path: OBJ/STL mesh or ``.npy`` (N, 3) surface points; relative paths are resolved
    against ``base_dir`` (e.g. the folder of the clip that references the object).
    Exactly one of ``mass`` (kg) and ``density`` (kg/m^3) is given.
    collision: ``hull`` (one convex hull) or ``decompose`` (CoACD convex decomposition,
    for concave meshes such as chairs and tables).
    """

    name: str
    shape: Shape
    size: tuple[float, ...] = ()
    path: str | None = None
    mass: float | None = None
    density: float | None = None
    friction: float = 0.9
    collision: Literal["hull", "decompose"] = "hull"
    rgba: tuple[float, float, float, float] = (0.85, 0.55, 0.25, 1.0)
    base_dir: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"object name must be alphanumeric (with _ or -), got {self.name!r}")
        if self.shape not in _SIZE_LEN:
            raise ValueError(
                f"object {self.name}: unknown shape {self.shape!r}; use {list(_SIZE_LEN)}"
            )
        n = _SIZE_LEN[self.shape]
        if n and (len(self.size) != n or not all(np.isfinite(s) and s > 0 for s in self.size)):
            raise ValueError(
                f"object {self.name}: shape {self.shape} needs size of {n} positive numbers, "
                f"got {self.size}"
            )
        if self.shape in ("mesh", "points") and not self.path:
            raise ValueError(f"object {self.name}: shape {self.shape} needs a path")
        if (self.mass is None) == (self.density is None):
            raise ValueError(f"object {self.name}: give exactly one of mass and density")
        for key in ("mass", "density", "friction"):
            value = getattr(self, key)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"object {self.name}: {key} must be > 0, got {value}")
        if self.collision not in ("hull", "decompose"):
            raise ValueError(f"object {self.name}: collision must be hull or decompose")

    def resolved_path(self) -> Path:
        assert self.path is not None
        p = Path(self.path).expanduser()
        if not p.is_absolute() and self.base_dir is not None:
            p = Path(self.base_dir) / p
        if not p.is_file():
            raise FileNotFoundError(f"object {self.name}: geometry file not found: {p}")
        return p

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("base_dir")
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, base_dir: str | Path | None = None) -> ObjectSpec:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"object description is not valid JSON: {e}") from None
        if not isinstance(d, dict):
            raise ValueError("object description must be a JSON object")
        d.pop("base_dir", None)
        for key in ("size", "rgba"):
            if key in d:
                d[key] = tuple(d[key])
        try:
            spec = cls(**d)
        except TypeError as e:
            raise ValueError(f"object description has bad fields: {e}") from None
        return replace(spec, base_dir=None if base_dir is None else str(base_dir))


def _load_points(path: Path) -> np.ndarray:
    pts = np.load(path, allow_pickle=False)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 4:
        raise ValueError(f"{path}: expected (N >= 4, 3) surface points, got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"{path}: surface points contain NaN or inf")
    return pts.astype(np.float64)


def _load_mesh(path: Path) -> trimesh.Trimesh:
    try:
        mesh = _trimesh().load(path, force="mesh", process=True)
    except Exception as e:  # trimesh raises many types for malformed files
        raise ValueError(f"{path}: cannot read mesh: {e}") from None
    if not isinstance(mesh, _trimesh().Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"{path}: no triangles in mesh")
    return mesh


@lru_cache(maxsize=64)
def _convex_parts(
    path: str, kind: str, collision: str
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Convex pieces of a mesh or point file, cached on disk by file content: reading an
    OBJ alone takes a few tenths of a second, a decomposition seconds to minutes, and
    every process of a batch would otherwise redo them."""
    p = Path(path)
    if kind == "points":
        method = "points-hull"
    else:
        method = "hull" if collision == "hull" else f"coacd{DECOMPOSITION_THRESHOLD}"
    key = hashlib.sha256(p.read_bytes() + method.encode()).hexdigest()
    cached = cache_dir() / "convex" / f"{key[:32]}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as data:
            n = int(data["count"])
            return tuple((data[f"v{i}"], data[f"f{i}"]) for i in range(n))
    if kind == "points":
        hull = _trimesh().convex.convex_hull(_load_points(p))
        out = ((np.asarray(hull.vertices), np.asarray(hull.faces)),)
    elif collision == "hull":
        hull = _load_mesh(p).convex_hull
        out = ((np.asarray(hull.vertices), np.asarray(hull.faces)),)
    else:
        out = _decompose(_load_mesh(p))
    arrays = {"count": np.array(len(out))}
    for i, (v, f) in enumerate(out):
        arrays[f"v{i}"], arrays[f"f{i}"] = v, f
    from common.atomic import atomic_path

    with atomic_path(cached) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return out


DECOMPOSITION_THRESHOLD = 0.05  # CoACD concavity threshold


def cache_dir() -> Path:
    return Path(os.environ.get("G1HOI_CACHE", Path.home() / ".cache" / "g1hoi"))


def _decompose(mesh: trimesh.Trimesh) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """CoACD convex decomposition."""
    import coacd  # imported lazily: only decomposition needs it

    coacd.set_log_level("error")
    parts = coacd.run_coacd(
        coacd.Mesh(mesh.vertices, mesh.faces), threshold=DECOMPOSITION_THRESHOLD, seed=0
    )
    return tuple((np.asarray(v, np.float64), np.asarray(f, np.int64)) for v, f in parts)


def convex_parts(obj: ObjectSpec) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Convex pieces (vertices, faces) of a mesh or point-cloud object, in the object frame."""
    return _convex_parts(str(obj.resolved_path()), obj.shape, obj.collision)


def surface_points(obj: ObjectSpec, count: int = 1024, seed: int = 0) -> np.ndarray:
    """Points on the object's (collision) surface in the object frame, (count, 3)."""
    rng = np.random.default_rng(seed)
    if obj.shape == "points":
        pts = _load_points(obj.resolved_path())
        return pts[rng.choice(len(pts), count, replace=len(pts) < count)]
    if obj.shape == "mesh":
        mesh = _load_mesh(obj.resolved_path())
    elif obj.shape == "box":
        mesh = _trimesh().creation.box(obj.size)
    elif obj.shape == "cylinder":
        mesh = _trimesh().creation.cylinder(radius=obj.size[0], height=obj.size[1])
    elif obj.shape == "capsule":
        mesh = _trimesh().creation.capsule(radius=obj.size[0], height=obj.size[1])
    else:
        mesh = _trimesh().creation.icosphere(radius=obj.size[0])
    pts, _ = _trimesh().sample.sample_surface(mesh, count, seed=seed)
    return np.asarray(pts)


def _volume(obj: ObjectSpec) -> float:
    if obj.shape == "box":
        return float(np.prod(obj.size))
    if obj.shape == "cylinder":
        r, h = obj.size
        return float(np.pi * r * r * h)
    if obj.shape == "capsule":
        r, h = obj.size
        return float(np.pi * r * r * h + 4.0 / 3.0 * np.pi * r**3)
    if obj.shape == "sphere":
        return float(4.0 / 3.0 * np.pi * obj.size[0] ** 3)
    return float(sum(_trimesh().Trimesh(v, f).convex_hull.volume for v, f in convex_parts(obj)))


OBJECT_PRIORITY = 2  # above the robot's geoms (the feet have 1)


def add_object(
    spec: mujoco.MjSpec, obj: ObjectSpec, pos=(0.0, 0.0, 0.0), quat=(1.0, 0.0, 0.0, 0.0)
):
    """Add ``obj`` as a free body named ``obj.name`` (joint ``<name>_joint``)."""
    body = spec.worldbody.add_body(name=obj.name, pos=pos, quat=quat)
    # Not "simple" (inertial frame = body frame): training randomizes the centre of mass.
    body.simple = 0
    body.add_freejoint(name=f"{obj.name}_joint")
    # MuJoCo takes density per geom; a given total mass becomes a uniform density.
    density = obj.density if obj.density is not None else obj.mass / _volume(obj)
    # MuJoCo takes the larger friction of two touching geoms of equal priority: above the
    # robot's, the object's own friction is the one its contacts with the robot use.
    common = dict(density=density, friction=(obj.friction, 0.005, 0.0001), condim=3,
                  rgba=obj.rgba, group=0, priority=OBJECT_PRIORITY)  # fmt: skip
    if obj.shape in ("mesh", "points"):
        for i, (verts, faces) in enumerate(convex_parts(obj)):
            mesh_name = f"{obj.name}_part{i}"
            spec.add_mesh(
                name=mesh_name,
                uservert=verts.astype(np.float32).ravel().tolist(),
                userface=faces.astype(np.int32).ravel().tolist(),
            )
            body.add_geom(
                name=mesh_name, type=mujoco.mjtGeom.mjGEOM_MESH, meshname=mesh_name, **common
            )
    else:
        if obj.shape == "box":
            gtype, size = mujoco.mjtGeom.mjGEOM_BOX, [s / 2 for s in obj.size]
        elif obj.shape == "cylinder":
            gtype, size = mujoco.mjtGeom.mjGEOM_CYLINDER, [obj.size[0], obj.size[1] / 2, 0]
        elif obj.shape == "capsule":
            gtype, size = mujoco.mjtGeom.mjGEOM_CAPSULE, [obj.size[0], obj.size[1] / 2, 0]
        else:
            gtype, size = mujoco.mjtGeom.mjGEOM_SPHERE, [obj.size[0], 0, 0]
        body.add_geom(name=f"{obj.name}_geom", type=gtype, size=size, **common)
    return body


def convex_planes(obj: ObjectSpec) -> list[np.ndarray]:
    """Per convex part of the collision shape, its face planes (F, 4): unit outward
    normal n and offset d with n . x <= d inside (object frame)."""
    if obj.shape == "box":  # without trimesh: the robot side runs box policies
        axes = np.array([[-1, 0, 0], [0, -1, 0], [0, 0, -1], [0, 0, 1], [0, 1, 0], [1, 0, 0]])
        return [np.c_[axes, np.abs(axes) @ (np.asarray(obj.size, float) / 2)]]
    if obj.shape in ("mesh", "points"):
        meshes = [_trimesh().Trimesh(v, f, process=False) for v, f in convex_parts(obj)]
    elif obj.shape == "cylinder":
        meshes = [_trimesh().creation.cylinder(radius=obj.size[0], height=obj.size[1], sections=48)]
    elif obj.shape == "capsule":
        meshes = [_trimesh().creation.capsule(radius=obj.size[0], height=obj.size[1])]
    else:
        meshes = [_trimesh().creation.icosphere(radius=obj.size[0], subdivisions=3)]
    out = []
    for mesh in meshes:
        n = np.asarray(mesh.face_normals)
        out.append(np.c_[n, np.sum(n * mesh.triangles[:, 0], axis=1)])
    return out


def signed_distance(planes: list[np.ndarray], points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance of points (..., 3) (object frame) to a union of convex parts, and
    the outward normal of the deciding face. Exact inside a part; outside, the largest
    face-plane distance (a lower bound, exact wherever the nearest point is on a face).
    Numpy arrays or torch tensors (``common.array_namespace``)."""
    xp = namespace(points)
    flat = xp.reshape(points, (-1, 3))
    best = xp.full_like(flat[:, 0], xp.inf)
    normal = xp.zeros_like(flat)
    for pl in planes:
        pl = like(pl, flat)
        dist = flat @ pl[:, :3].T - pl[:, 3]  # (M, F)
        face = xp.argmax(dist, axis=1)
        d = xp.max(dist, axis=1)
        better = d < best
        best = xp.where(better, d, best)
        # where() rather than a boolean mask: no data-dependent shape (no device sync)
        normal = xp.where(better[:, None], pl[face, :3], normal)
    return xp.reshape(best, points.shape[:-1]), xp.reshape(normal, points.shape)


def bounds(obj: ObjectSpec) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned (min, max) corners of the collision geometry in the object frame."""
    if obj.shape in ("mesh", "points"):
        verts = np.concatenate([v for v, _ in convex_parts(obj)])
        return verts.min(axis=0), verts.max(axis=0)
    if obj.shape == "box":
        half = np.asarray(obj.size) / 2
    elif obj.shape == "cylinder":
        half = np.array([obj.size[0], obj.size[0], obj.size[1] / 2])
    elif obj.shape == "capsule":
        half = np.array([obj.size[0], obj.size[0], obj.size[1] / 2 + obj.size[0]])
    else:
        half = np.full(3, obj.size[0])
    return -half, half


# The OMOMO objects of InterAct/InterMimic. Masses are plausible guesses for the real
# items (the dataset gives none); only sample_points.npy exists for smallbox and suitcase.
OMOMO_MASSES = {
    "largebox": 3.0,
    "largetable": 10.0,
    "plasticbox": 2.0,
    "smallbox": 1.0,
    "suitcase": 4.0,
    "woodchair": 5.0,
}


def omomo_root() -> Path | None:
    """Folder of OMOMO object subfolders: $G1HOI_OMOMO_OBJECTS, else ../shared next to the repo."""
    env = os.environ.get(OMOMO_ENV)
    if env:
        return Path(env)
    guess = Path(__file__).resolve().parents[2] / "shared" / "data" / "interact_omomo" / "objects"
    return guess if guess.is_dir() else None


# Concave OMOMO objects people sit on or hold from inside: their convex hull would fill
# the space the body uses, so they collide through a convex decomposition.
OMOMO_DECOMPOSE = {"woodchair"}


def omomo_object(
    name: str, root: str | Path | None = None, collision: str | None = None
) -> ObjectSpec:
    """An OMOMO object by name, from its mesh when present, else from its surface points.
    ``collision``: hull or decompose (default: decompose for ``OMOMO_DECOMPOSE``)."""
    if collision is None:
        collision = "decompose" if name in OMOMO_DECOMPOSE else "hull"
    if name not in OMOMO_MASSES:
        raise KeyError(f"unknown OMOMO object {name!r}; known: {sorted(OMOMO_MASSES)}")
    folder = Path(root) if root is not None else omomo_root()
    if folder is None or not (folder / name).is_dir():
        raise FileNotFoundError(
            f"OMOMO object folder for {name!r} not found (set ${OMOMO_ENV} or pass root)"
        )
    mesh = folder / name / f"{name}.obj"
    if mesh.is_file():
        return ObjectSpec(
            name, "mesh", path=str(mesh), mass=OMOMO_MASSES[name], collision=collision
        )  # type: ignore[arg-type]
    points = folder / name / "sample_points.npy"
    return ObjectSpec(name, "points", path=str(points), mass=OMOMO_MASSES[name])
