"""Generate the G1 as a URDF (for Pinocchio and ROS tools) from the parameter table.

URDF has no capsule: each collision capsule becomes a cylinder plus two end spheres,
which bound exactly the same volume. Sites become massless links on fixed joints so
that Pinocchio has frames for the IMU, feet and palms. The floating base is not in the
file: load it with ``pinocchio.buildModelFromUrdf(path, pinocchio.JointModelFreeFlyer())``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
from scipy.spatial.transform import Rotation

import robots.g1 as g1
from robots import quat
from robots.g1.spec import Capsule, Link, Quat, Vec3
from robots.g1.table import MOTORS


def _f(values) -> str:
    return " ".join(repr(float(v)) for v in values)


def _origin(pos: Vec3 | np.ndarray, q: Quat | np.ndarray) -> str:
    with warnings.catch_warnings():
        # At +-90 deg pitch scipy picks one of the equivalent angle triples; any is exact.
        warnings.simplefilter("ignore", UserWarning)
        rpy = Rotation.from_matrix(quat.to_matrix(np.asarray(q))).as_euler("xyz")
    return f'<origin xyz="{_f(pos)}" rpy="{_f(rpy)}"/>'


def _collisions(link: Link) -> list[str]:
    out = []
    for geom in link.geoms:
        if isinstance(geom, Capsule):
            a, b = np.array(geom.fromto[:3]), np.array(geom.fromto[3:])
            axis = b - a
            length = float(np.linalg.norm(axis))
            rot, _ = Rotation.align_vectors([axis / length], [[0.0, 0.0, 1.0]])
            q = quat.xyzw_to_wxyz(rot.as_quat())
            out.append(
                f'<collision name="{geom.name}">{_origin((a + b) / 2, q)}<geometry>'
                f'<cylinder radius="{geom.radius!r}" length="{length!r}"/></geometry></collision>'
            )
            ends = ((a, f"{geom.name}_end0"), (b, f"{geom.name}_end1"))
        else:
            ends = ((np.array(geom.pos), geom.name),)
        for center, name in ends:
            out.append(
                f'<collision name="{name}">{_origin(center, (1, 0, 0, 0))}<geometry>'
                f'<sphere radius="{geom.radius!r}"/></geometry></collision>'
            )
    return out


def _link(link: Link, mesh_dir: Path | None) -> str:
    i = link.inertial
    parts = [
        f"<link name={quoteattr(link.name)}>",
        f'<inertial>{_origin(i.pos, i.quat)}<mass value="{i.mass!r}"/>'
        f'<inertia ixx="{i.diag[0]!r}" ixy="0" ixz="0" iyy="{i.diag[1]!r}" iyz="0" '
        f'izz="{i.diag[2]!r}"/></inertial>',
    ]
    if mesh_dir is not None:
        for vis in link.visuals:
            parts.append(
                f"<visual>{_origin(vis.pos, vis.quat)}<geometry>"
                f"<mesh filename={quoteattr(str(mesh_dir / vis.file))}/></geometry></visual>"
            )
    parts += _collisions(link)
    parts.append("</link>")
    for site in link.sites:
        parts.append(f"<link name={quoteattr(site.name)}/>")
        parts.append(
            f'<joint name="{site.name}_fixed" type="fixed">{_origin(site.pos, (1, 0, 0, 0))}'
            f'<parent link="{link.name}"/><child link="{site.name}"/></joint>'
        )
    return "\n  ".join(parts)


def _joint(link: Link) -> str:
    j = link.joint
    assert j is not None and link.parent is not None
    motor = MOTORS[j.motor]
    return (
        f'<joint name="{j.name}" type="revolute">{_origin(link.pos, link.quat)}'
        f'<parent link="{link.parent}"/><child link="{link.name}"/><axis xyz="{_f(j.axis)}"/>'
        f'<limit lower="{j.range[0]!r}" upper="{j.range[1]!r}" effort="{motor.effort!r}" '
        f'velocity="{motor.velocity!r}"/></joint>'
    )


def g1_urdf(mesh_dir: str | Path | None = None) -> str:
    """The URDF text. ``mesh_dir``: Unitree's mesh folder, referenced by absolute path."""
    mdir = None if mesh_dir is None else Path(mesh_dir).expanduser().resolve()
    body = []
    for link in g1.LINKS:
        if link.joint is not None:
            body.append(_joint(link))
        body.append(_link(link, mdir))
    return '<?xml version="1.0"?>\n<robot name="g1_29dof">\n  ' + "\n  ".join(body) + "\n</robot>\n"
