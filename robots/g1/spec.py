"""Types of the robot parameter table: one link per entry, in depth-first order.

Conventions (used everywhere in the project):
- lengths in metres, angles in radians, masses in kg, inertias in kg m^2;
- quaternions are (w, x, y, z) and need not be normalized here (MuJoCo normalizes);
- a link's ``pos``/``quat`` place its frame (= its joint frame) in the parent frame.
"""

from __future__ import annotations

from dataclasses import dataclass

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

X: Vec3 = (1.0, 0.0, 0.0)
Y: Vec3 = (0.0, 1.0, 0.0)
Z: Vec3 = (0.0, 0.0, 1.0)
IDENTITY: Quat = (1.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Motor:
    """A Unitree actuator type as seen from the joint (after the gearbox)."""

    armature: float  # reflected rotor inertia, kg m^2
    effort: float  # peak torque, N m
    velocity: float  # no-load speed, rad/s


@dataclass(frozen=True)
class Joint:
    name: str
    axis: Vec3
    range: tuple[float, float]
    motor: str  # key into the motor table


@dataclass(frozen=True)
class Inertial:
    mass: float
    pos: Vec3
    quat: Quat  # orientation of the principal axes
    diag: Vec3  # principal moments


@dataclass(frozen=True)
class Capsule:
    name: str
    radius: float
    fromto: tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class Sphere:
    name: str
    radius: float
    pos: Vec3


@dataclass(frozen=True)
class Site:
    name: str
    pos: Vec3


@dataclass(frozen=True)
class Visual:
    """A visual mesh, by file name inside Unitree's official mesh folder."""

    file: str
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY
    dark: bool = False


@dataclass(frozen=True)
class Link:
    name: str
    parent: str | None
    inertial: Inertial
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY
    joint: Joint | None = None  # None for the floating base
    geoms: tuple[Capsule | Sphere, ...] = ()
    sites: tuple[Site, ...] = ()
    visuals: tuple[Visual, ...] = ()
