"""Robustness randomization (InterMimic+), drawn per simulation at every reset.

Model fields are per-simulation copies (``mujoco.batch`` expand, ``RANDOMIZED``): object
mass (with its inertia) and centre of mass, robot link masses, object and floor
friction, contact softness, PD gains, torque limits, joint damping, friction loss and
armature. Action latency, sensor noise, velocity impulses and initial-state noise are
applied by the environment. What still separates training from sim2sim and the robot
(1 kHz, latency, sensor noise) is randomized around sim2sim's values here; the tests
read each drawn value back from the simulation's own contacts, forces and dynamics.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
from array_api_compat import device

from common.array_namespace import like as as_like
from common.array_namespace import namespace
from contract.sensors import SensorNoise


@dataclass(frozen=True)
class RandomizationConfig:
    enabled: bool = True
    model: bool = True
    """Draw the per-simulation model fields (False: every simulation keeps the model's
    own masses, friction, contact softness, gains and joint properties; latency, noise
    and pushes as set)."""
    object_mass_scale: tuple[float, float] = (0.7, 1.3)
    object_com_offset: float = 0.02  # m, per axis
    object_friction: tuple[float, float] = (0.5, 1.2)
    """Friction of the object's contacts with the robot (the object's geoms outrank the
    robot's, ``robots.objects.OBJECT_PRIORITY``)."""
    floor_friction: tuple[float, float] = (0.4, 1.0)
    """Friction of the floor's contacts with the feet (which outrank it) and with the
    object (explicit pairs, ``robots.scene.floor_contacts``)."""
    gain_scale: tuple[float, float] = (0.85, 1.15)  # kp and kd, per joint
    kp_common: tuple[float, float] = (1.0, 1.0)
    """Every motor's kp times one draw per simulation, on top of ``gain_scale``: an error
    the whole robot shares (supply voltage, motor constants), which independent per-joint
    draws average away."""
    effort_scale: tuple[float, float] = (0.8, 1.0)  # the motors' torque limits, per joint
    joint_damping: tuple[float, float] = (0.0, 0.1)
    """N m s/rad per joint: what an unmodelled drive adds (Unitree's own G1 model: 0.05)."""
    joint_frictionloss: tuple[float, float] = (0.0, 0.3)
    """N m per joint (Unitree's own G1 model: 0.2)."""
    armature_scale: tuple[float, float] = (0.5, 2.0)
    """The reflected rotor inertia per joint (Unitree's own G1 model: 0.01 everywhere)."""
    link_mass_scale: tuple[float, float] = (0.95, 1.05)  # every robot link, each its own
    torso_added_mass: tuple[float, float] = (-0.5, 2.5)  # kg on the torso link
    # Contact softness: the time constant of every contact (solref[0], MuJoCo's 0.02 s;
    # at least two physics steps).
    contact_timeconst: tuple[float, float] = (0.01, 0.03)  # s
    # Action latency per episode, drawn in physics substeps: new targets reach the motors
    # this long after the observation (the previous ones act until then).
    max_latency_s: float = 0.02
    sensor_noise: SensorNoise = SensorNoise()  # on the observation, as sim2sim draws it
    # A tracker's latency on the object's pose per episode, drawn in control steps up to
    # this (s); the policy sees the late pose extrapolated as the robot node does
    # (training/tracker_delay.py). 0: the object is seen as it is now.
    tracker_latency_s: float = 0.0
    tracker_pelvis: bool = False
    """The tracker also sees the pelvis (its position and linear velocity arrive as late)."""
    tracker_noise: float = 0.0
    """m: a tracker's position noise per episode, drawn up to this; the policy sees what
    the node's fit over its captures leaves of it (``training.tracker_delay``)."""
    leg_odometry: bool = False
    """The policy sees the pelvis velocity the robot node estimates without a pelvis
    tracker (``contract.leg_odometry``): the truth less the stance foot's own motion."""
    object_start_offset: float = 0.0
    """m per horizontal axis: where the reference has no hand on the object at the start
    frame, the object starts shifted by up to this (and turned by up to
    ``object_start_yaw`` rad), so the hands must reach for it where it is."""
    object_start_yaw: float = 0.0
    robot_start_offset: float = 0.0
    """m per horizontal axis: as for the object, the robot starts shifted from where the
    reference has it (and turned by up to ``robot_start_yaw`` rad): the node hands over
    from a hold that drifts the robot 3-4 cm forward of where it was set down, and no
    robot stands exactly where its reference starts."""
    robot_start_yaw: float = 0.0
    push_interval_s: tuple[float, float] = (1.0, 3.0)
    push_robot_velocity: float = 0.3  # m/s, pelvis impulse per axis (xy)
    push_object_velocity: float = 0.3  # m/s, object impulse per axis (xy)
    joint_pos_noise: float = 0.05  # rad at reset
    joint_vel_noise: float = 0.1  # rad/s at reset


class ModelRandomizer:
    """Writes per-simulation model values for reset simulations."""

    def __init__(self, backend, model: mujoco.MjModel, object_name: str, cfg: RandomizationConfig):
        self.cfg = cfg
        obj = model.body(object_name).id
        self.obj = obj
        f = {name: backend.model_field(name) for name in RANDOMIZED}
        self.f = f
        # index arrays and base values beside the fields (numpy, or tensors on their device)
        like = f["body_mass"]
        xp, dev = namespace(like), device(like)

        def index(a) -> np.ndarray:
            return xp.asarray(np.asarray(a, dtype=np.int64), device=dev)

        self.obj_geoms = index(np.flatnonzero(model.geom_bodyid == obj))
        self.foot_geoms = index(
            [g for g in range(model.ngeom) if "foot" in (model.geom(g).name or "")]
        )
        robot = [b for b in range(1, model.nbody) if model.body_rootid[b] != obj]
        self.links = index(robot)
        self.torso = model.body("torso_link").id
        self.dofs = index(model.jnt_dofadr[model.jnt_type == mujoco.mjtJoint.mjJNT_HINGE])
        self.base = {name: as_like(getattr(model, name), like) for name in RANDOMIZED}

    def apply(self, ids: np.ndarray, rng) -> None:
        """New values for simulations ``ids`` (``rng``: numpy's Generator, or
        ``training.random_source.TorchRandom`` for tensor fields)."""
        c, n, f, base = self.cfg, len(ids), self.f, self.base
        nj, nl = len(self.dofs), len(self.links)
        scale = rng.uniform(*c.object_mass_scale, n)
        f["body_mass"][ids, self.obj] = base["body_mass"][self.obj] * scale
        f["body_inertia"][ids, self.obj] = base["body_inertia"][self.obj] * scale[:, None]
        offset = rng.uniform(-1, 1, (n, 3)) * c.object_com_offset
        f["body_ipos"][ids, self.obj] = base["body_ipos"][self.obj] + offset
        links = rng.uniform(*c.link_mass_scale, (n, nl))
        f["body_mass"][ids[:, None], self.links] = base["body_mass"][self.links] * links
        f["body_inertia"][ids[:, None], self.links] = (
            base["body_inertia"][self.links] * links[..., None]
        )
        f["body_mass"][ids, self.torso] += rng.uniform(*c.torso_added_mass, n)
        fr = rng.uniform(*c.object_friction, n)
        f["geom_friction"][ids[:, None], self.obj_geoms, 0] = fr[:, None]
        fr = rng.uniform(*c.floor_friction, n)
        f["geom_friction"][ids[:, None], self.foot_geoms, 0] = fr[:, None]
        f["pair_friction"][ids, :, 0] = fr[:, None]
        f["pair_friction"][ids, :, 1] = fr[:, None]
        tc = rng.uniform(*c.contact_timeconst, n)[:, None]
        f["geom_solref"][ids, :, 0] = tc
        f["pair_solref"][ids, :, 0] = tc
        kp = rng.uniform(*c.gain_scale, (n, nj))
        kd = rng.uniform(*c.gain_scale, (n, nj))
        low, high = c.kp_common
        # a point range draws nothing, so the runs that predate it replay their draws
        kp = kp * (rng.uniform(low, high, n)[:, None] if high > low else low)
        f["actuator_gainprm"][ids, :, 0] = base["actuator_gainprm"][:, 0] * kp
        f["actuator_biasprm"][ids, :, 1] = base["actuator_biasprm"][:, 1] * kp
        f["actuator_biasprm"][ids, :, 2] = base["actuator_biasprm"][:, 2] * kd
        effort = rng.uniform(*c.effort_scale, (n, nj))[..., None]
        f["actuator_forcerange"][ids] = base["actuator_forcerange"] * effort
        f["dof_damping"][ids[:, None], self.dofs] = rng.uniform(*c.joint_damping, (n, nj))
        friction = rng.uniform(*c.joint_frictionloss, (n, nj))
        f["dof_frictionloss"][ids[:, None], self.dofs] = friction
        armature = rng.uniform(*c.armature_scale, (n, nj))
        f["dof_armature"][ids[:, None], self.dofs] = base["dof_armature"][self.dofs] * armature
        # mj_setConst is not rerun: the dynamics read masses, inertias, gains and joint
        # properties directly; the derived constants only scale constraint softness, and
        # recomputing them at every reset would cost more than the step itself.

    def drawn(self) -> dict:
        """(N,) per simulation, read back from the simulation's own fields: object mass
        (x its model value), object friction, floor friction, added torso mass (kg), and
        the mean kp and torque-limit scales over the joints."""
        f, base, xp = self.f, self.base, namespace(self.f["body_mass"])
        gain = f["actuator_gainprm"][:, :, 0] / base["actuator_gainprm"][:, 0]
        effort = f["actuator_forcerange"][:, :, 1] / base["actuator_forcerange"][:, 1]
        return {
            "object_mass": f["body_mass"][:, self.obj] / base["body_mass"][self.obj],
            "object_friction": f["geom_friction"][:, self.obj_geoms[0], 0],
            "floor_friction": f["geom_friction"][:, self.foot_geoms[0], 0],
            "torso_mass": f["body_mass"][:, self.torso] - base["body_mass"][self.torso],
            "gain_scale": xp.mean(gain, axis=1),
            "effort_scale": xp.mean(effort, axis=1),
        }


# The MjModel fields drawn per simulation.
RANDOMIZED: tuple[str, ...] = (
    "body_mass", "body_inertia", "body_ipos", "geom_friction", "geom_solref", "pair_friction",
    "pair_solref", "actuator_gainprm", "actuator_biasprm", "actuator_forcerange",
    "dof_damping", "dof_frictionloss", "dof_armature",
)  # fmt: skip
