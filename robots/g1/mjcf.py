"""Generate the G1 as a MuJoCo model (``mujoco.MjSpec``) from the parameter table."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import mujoco
import numpy as np

import robots.g1 as g1
from robots.g1.gains import GainProfile, profile
from robots.g1.spec import Capsule, Link
from robots.g1.table import MOTORS
from robots.motor_law import PdLaw

_INTEGRATORS = {
    "euler": mujoco.mjtIntegrator.mjINT_EULER,
    "implicit": mujoco.mjtIntegrator.mjINT_IMPLICIT,
    "implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
    "rk4": mujoco.mjtIntegrator.mjINT_RK4,
}
_CONES = {"pyramidal": mujoco.mjtCone.mjCONE_PYRAMIDAL, "elliptic": mujoco.mjtCone.mjCONE_ELLIPTIC}

_WARNED: set[str] = set()


def _warning(text: str) -> None:
    """MuJoCo's warnings on stderr, each kind once per process: its default handler
    appends them to MUJOCO_LOG.TXT in whatever folder the process runs in."""
    kind = text.split(" at ")[0].split(". ")[0]
    if kind not in _WARNED:
        _WARNED.add(kind)
        print(f"MuJoCo warning: {text}", file=sys.stderr)


mujoco.set_mju_user_warning(_warning)

COLLISION_GROUP = 3
VISUAL_GROUP = 2
FOOT_FRICTION = 0.6  # mjlab's foot friction; feet get contact priority over the floor
ROBOT_RGBA = (0.72, 0.74, 0.78, 1.0)
DARK_RGBA = (0.18, 0.18, 0.2, 1.0)


@dataclass(frozen=True)
class SimOptions:
    """Physics settings, one object for the training environment, sim2sim and the
    virtual G1, which share one contact model: an elliptic friction cone with impratio
    10 (slip-free grasps), solved to convergence (at 10 Newton iterations this cone is
    under-converged: states drift 5 cm from the converged solution within 100 steps of a
    grasp; 14 iterations were the most any step needed there). Training steps at 5 ms;
    ``STRICT`` (sim2sim, the virtual G1) at 1 kHz."""

    timestep: float = 0.005
    integrator: Literal["euler", "implicit", "implicitfast", "rk4"] = "implicitfast"
    cone: Literal["pyramidal", "elliptic"] = "elliptic"
    impratio: float = 10.0
    iterations: int = 50
    ls_iterations: int = 50
    tolerance: float = 1e-8  # solver stop criterion (MuJoCo's default)
    # Arena + stack per MjData. MuJoCo's default (~15 MiB) is ~100x what a G1 with a few
    # objects uses (~0.2 MiB peak); hundreds of simulations must fit in memory.
    memory_bytes: int = 2 << 20
    pd: PdLaw = "continuous"
    """The motors' PD law (``robots.motor_law``): ``sampled`` as Unitree's simulator
    computes it (sim2sim and the virtual G1; training steps the continuous law)."""


STRICT = SimOptions(timestep=0.001)
# The training physics before the contact model was shared (mjlab's G1 tracking), for
# comparisons: pyramidal cone, impratio 1, 10 iterations.
PYRAMIDAL = SimOptions(cone="pyramidal", impratio=1.0, iterations=10, ls_iterations=20)
# Unitree's own simulator (unitree_mujoco's simulate_python, config.py and SDK bridge).
UNITREE_SIM = SimOptions(timestep=0.005, integrator="euler", cone="pyramidal", impratio=1.0,
                         iterations=100, pd="sampled")  # fmt: skip


def apply_options(spec: mujoco.MjSpec, options: SimOptions) -> None:
    if options.timestep <= 0:
        raise ValueError(f"timestep must be > 0, got {options.timestep}")
    spec.option.timestep = options.timestep
    spec.option.integrator = _INTEGRATORS[options.integrator]
    spec.option.cone = _CONES[options.cone]
    spec.option.impratio = options.impratio
    spec.option.iterations = options.iterations
    spec.option.ls_iterations = options.ls_iterations
    spec.option.tolerance = options.tolerance
    spec.memory = options.memory_bytes


def _add_link(
    spec: mujoco.MjSpec,
    parent: mujoco.MjsBody,
    link: Link,
    gains: GainProfile,
    with_meshes: bool,
) -> mujoco.MjsBody:
    body = parent.add_body(name=link.name, pos=link.pos, quat=link.quat)
    body.explicitinertial = True
    body.mass = link.inertial.mass
    body.ipos = link.inertial.pos
    body.iquat = link.inertial.quat
    body.inertia = link.inertial.diag
    if link.joint is None:
        body.add_freejoint(name=g1.FREE_JOINT)
    else:
        motor = MOTORS[link.joint.motor]
        body.add_joint(
            name=link.joint.name,
            type=mujoco.mjtJoint.mjJNT_HINGE,
            axis=link.joint.axis,
            range=link.joint.range,
            limited=mujoco.mjtLimited.mjLIMITED_TRUE,
            armature=motor.armature,
            actfrclimited=mujoco.mjtLimited.mjLIMITED_TRUE,
            actfrcrange=(-motor.effort, motor.effort),
        )
    for geom in link.geoms:
        is_foot = "foot" in geom.name
        g = body.add_geom(
            name=geom.name,
            group=COLLISION_GROUP,
            condim=3,
            rgba=DARK_RGBA if is_foot or "hand" in geom.name else ROBOT_RGBA,
        )
        if isinstance(geom, Capsule):
            g.type = mujoco.mjtGeom.mjGEOM_CAPSULE
            g.size = (geom.radius, 0.0, 0.0)
            g.fromto = geom.fromto
        else:
            g.type = mujoco.mjtGeom.mjGEOM_SPHERE
            g.size = (geom.radius, 0.0, 0.0)
            g.pos = geom.pos
        if is_foot:
            g.friction = (FOOT_FRICTION, 0.005, 0.0001)
            g.priority = 1
    for site in link.sites:
        body.add_site(name=site.name, pos=site.pos, size=(0.01, 0.0, 0.0), group=5)
    if with_meshes:
        for vis in link.visuals:
            body.add_geom(
                type=mujoco.mjtGeom.mjGEOM_MESH,
                meshname=Path(vis.file).stem,
                pos=vis.pos,
                quat=vis.quat,
                group=VISUAL_GROUP,
                contype=0,
                conaffinity=0,
                density=0.0,
                material="g1_dark" if vis.dark else "g1_silver",
            )
    return body


def add_g1(
    spec: mujoco.MjSpec,
    gains: str | GainProfile = "tracking",
    actuators: bool = True,
    mesh_dir: str | Path | None = None,
    sensors: bool = True,
) -> None:
    """Add the G1 (bodies, joints, collision capsules, sites, actuators) to ``spec``.

    Actuators are position servos in Unitree motor order (actuator i drives motor i):
    ``tau = kp (ctrl - q) - kd dq``, clipped to the motor's effort limit, with ``ctrl``
    limited to the joint range (as the deploy safety layer does on the robot).
    ``mesh_dir``: Unitree's official mesh folder (``*.STL``), for visual meshes only.
    """
    gp = profile(gains)
    with_meshes = mesh_dir is not None
    if with_meshes:
        mesh_dir = Path(mesh_dir).expanduser().resolve()
        files = {vis.file for link in g1.LINKS for vis in link.visuals}
        missing = sorted(f for f in files if not (mesh_dir / f).is_file())
        if missing:
            raise FileNotFoundError(
                f"mesh folder {mesh_dir} lacks {len(missing)} meshes: {missing[:5]}"
            )
        spec.add_material(name="g1_silver", rgba=(0.7, 0.7, 0.7, 1.0))
        spec.add_material(name="g1_dark", rgba=(0.2, 0.2, 0.2, 1.0))
        for f in sorted(files):
            spec.add_mesh(name=Path(f).stem, file=str(mesh_dir / f))

    bodies: dict[str, mujoco.MjsBody] = {}
    for link in g1.LINKS:
        parent = spec.worldbody if link.parent is None else bodies[link.parent]
        bodies[link.name] = _add_link(spec, parent, link, gp, with_meshes)
    for b1, b2 in g1.CONTACT_EXCLUDES:
        spec.add_exclude(bodyname1=b1, bodyname2=b2)

    if actuators:
        kp, kd = g1.gains(gp)
        for i, name in enumerate(g1.JOINT_NAMES):
            act = spec.add_actuator(
                name=name,
                target=name,
                trntype=mujoco.mjtTrn.mjTRN_JOINT,
                ctrllimited=mujoco.mjtLimited.mjLIMITED_TRUE,
                ctrlrange=(g1.JOINT_LOWER[i], g1.JOINT_UPPER[i]),
                forcelimited=mujoco.mjtLimited.mjLIMITED_TRUE,
                forcerange=(-g1.EFFORT_LIMIT[i], g1.EFFORT_LIMIT[i]),
            )
            act.set_to_position(kp=float(kp[i]), kv=float(kd[i]))
    if sensors:
        # The robot's IMU sits in the pelvis; these are what LowState.imu_state reports.
        for name, kind in (
            ("imu_quat", mujoco.mjtSensor.mjSENS_FRAMEQUAT),
            ("imu_gyro", mujoco.mjtSensor.mjSENS_GYRO),
            ("imu_acc", mujoco.mjtSensor.mjSENS_ACCELEROMETER),
        ):
            spec.add_sensor(
                name=name, type=kind, objtype=mujoco.mjtObj.mjOBJ_SITE, objname="imu_in_pelvis"
            )


def pd_gains(model: mujoco.MjModel) -> tuple[np.ndarray, np.ndarray]:
    """(kp, kd) of the robot's position actuators (motor order) in a compiled model."""
    return model.actuator_gainprm[:, 0].copy(), -model.actuator_biasprm[:, 2]


def set_pd_gains(model: mujoco.MjModel, kp: np.ndarray, kd: np.ndarray) -> None:
    """Give the robot's position actuators the PD law ``kp (q* - q) - kd dq``."""
    model.actuator_gainprm[:, 0] = kp
    model.actuator_biasprm[:, 1] = -np.asarray(kp)
    model.actuator_biasprm[:, 2] = -np.asarray(kd)


def default_qpos(place: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """The robot's part of qpos (root pos, root quat wxyz, joints) standing in the default
    pose at ``place``: x, y and heading (rad about the vertical)."""
    x, y, heading = place
    turn = np.array([np.cos(heading / 2), 0.0, 0.0, np.sin(heading / 2)])
    return np.concatenate([[x, y, g1.DEFAULT_ROOT_HEIGHT], turn, g1.DEFAULT_POS])


def g1_spec(
    gains: str | GainProfile = "tracking",
    actuators: bool = True,
    mesh_dir: str | Path | None = None,
    options: SimOptions = SimOptions(),
    sensors: bool = True,
) -> mujoco.MjSpec:
    """A stand-alone G1 model (no floor) with the default-pose keyframe ``default``."""
    spec = mujoco.MjSpec()
    spec.modelname = "g1_29dof"
    spec.compiler.degree = False
    spec.compiler.autolimits = True
    apply_options(spec, options)
    add_g1(spec, gains=gains, actuators=actuators, mesh_dir=mesh_dir, sensors=sensors)
    spec.add_key(
        name="default",
        qpos=default_qpos(),
        ctrl=g1.DEFAULT_POS if actuators else [],
    )
    return spec
