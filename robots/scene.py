"""HOI scenes: the G1, a floor and free rigid objects in one MuJoCo model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from robots.g1.gains import GainProfile
from robots.g1.mjcf import SimOptions, add_g1, apply_options, default_qpos
from robots.objects import ObjectSpec, add_object, bounds

FLOOR_FRICTION = 1.0


@dataclass(frozen=True)
class Placement:
    """Initial pose of an object in the world (quaternion wxyz)."""

    pos: tuple[float, float, float]
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)


def _default_placement(i: int, obj: ObjectSpec) -> Placement:
    # On the floor, its near face 0.4 m in front of the pelvis, further objects in a row
    # to the left so that nothing overlaps at the start.
    lo, _ = bounds(obj)
    return Placement((0.4 - lo[0], 1.2 * i, -lo[2] + 1e-3))


def floor_contacts(spec: mujoco.MjSpec, body) -> None:
    """The object's contacts with the floor as explicit pairs carrying the floor's
    friction: under priorities the object's friction would rule them too, and a slippery
    floor must let a box slide whatever the box's hands-side friction."""
    spec.add_exclude(bodyname1="world", bodyname2=body.name)
    for geom in body.geoms:
        f = FLOOR_FRICTION
        spec.add_pair(name=f"floor_{geom.name}", geomname1="floor", geomname2=geom.name,
                      condim=3, friction=[f, f, 0.005, 0.0001, 0.0001])  # fmt: skip


def build_scene(
    objects: Sequence[ObjectSpec] = (),
    placements: Sequence[Placement | None] | None = None,
    gains: str | GainProfile = "tracking",
    options: SimOptions = SimOptions(),
    mesh_dir: str | Path | None = None,
    floor: bool = True,
    actuators: bool = True,
) -> mujoco.MjSpec:
    """G1 + floor + objects. qpos layout: robot (7 + 29), then 7 per object in order.

    The keyframe ``default`` stands the robot in its default pose with each object at
    its placement (default: resting on the floor in front of the robot).
    """
    names = [o.name for o in objects]
    if len(set(names)) != len(names):
        raise ValueError(f"object names must be unique, got {names}")
    if placements is not None and len(placements) != len(objects):
        raise ValueError(f"{len(placements)} placements given for {len(objects)} objects")
    spec = mujoco.MjSpec()
    spec.modelname = "g1_hoi_scene"
    spec.compiler.degree = False
    spec.compiler.autolimits = True
    apply_options(spec, options)
    spec.visual.headlight.ambient = (0.35, 0.35, 0.35)
    spec.visual.headlight.diffuse = (0.6, 0.6, 0.6)
    spec.visual.global_.offwidth = 1920
    spec.visual.global_.offheight = 1080
    spec.add_texture(
        name="sky",
        type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=(0.55, 0.65, 0.78),
        rgb2=(0.08, 0.09, 0.12),
        width=256,
        height=256,
    )
    if floor:
        spec.add_texture(
            name="grid",
            type=mujoco.mjtTexture.mjTEXTURE_2D,
            builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
            rgb1=(0.22, 0.27, 0.33),
            rgb2=(0.3, 0.36, 0.43),
            width=512,
            height=512,
        )
        spec.add_material(name="grid", textures=["", "grid"], texrepeat=(1, 1), texuniform=True)
        spec.worldbody.add_geom(
            name="floor",
            type=mujoco.mjtGeom.mjGEOM_PLANE,
            size=(0, 0, 0.05),
            material="grid",
            friction=(FLOOR_FRICTION, 0.005, 0.0001),
        )
        spec.worldbody.add_light(
            pos=(0, 0, 4), dir=(0, 0, -1), type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
        )
    add_g1(spec, gains=gains, actuators=actuators, mesh_dir=mesh_dir)
    qpos = [default_qpos()]
    for i, obj in enumerate(objects):
        place = (placements[i] if placements is not None else None) or _default_placement(i, obj)
        body = add_object(spec, obj, pos=place.pos, quat=place.quat)
        if floor:
            floor_contacts(spec, body)
        q = np.asarray(place.quat, dtype=np.float64)
        qpos.append(np.concatenate([place.pos, q / np.linalg.norm(q)]))
    from robots import g1

    spec.add_key(
        name="default", qpos=np.concatenate(qpos), ctrl=g1.DEFAULT_POS if actuators else []
    )
    return spec
