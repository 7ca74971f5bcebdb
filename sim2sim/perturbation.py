"""What a real G1 and its task may differ in from the nominal model, one setting each:
the robustness sweep's axes (``sim2sim.sweep``) and ``run_mujoco.py --perturb.*``.
Every field is neutral by default; ``object`` gives the simulated object, ``apply``
writes the model, ``place_object`` moves the object at the start of an episode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import mujoco
import numpy as np

from robots import quat
from robots.objects import ObjectSpec

UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class Perturbation:
    kp_scale: float = 1.0
    """PD stiffness (kp) of every motor, as a share of the policy file's."""
    torque_scale: float = 1.0
    """The motors' torque limits, as a share of the policy file's."""
    joint_damping: float = 0.0
    """N m s/rad added to every joint (Unitree's own G1 model: 0.05)."""
    joint_frictionloss: float = 0.0
    """N m of dry friction in every joint (Unitree's own G1 model: 0.2)."""
    armature: float = 0.0
    """kg m^2: every joint's reflected rotor inertia set to this (0: the model's own;
    Unitree's own G1 model: 0.01)."""
    link_mass_scale: float = 1.0
    """Every robot link's mass and inertia, as a share of the model's."""
    torso_mass: float = 0.0
    """kg added to the torso link (the pre-1.0 G1's torso: 1.8 kg heavier)."""
    object_mass_scale: float = 1.0
    object_size_scale: float = 1.0
    """The object's sides scaled (primitive shapes; an object given by its mass keeps
    it); the policy still sees the clip's object."""
    object_friction: float = 0.0
    """Friction of the object's contacts with the robot (0: the object's own)."""
    floor_friction: float = 0.0
    """Friction of the floor's contacts with the feet and the object (0: the model's)."""
    object_distance: float = 0.0
    """m the object starts farther from the robot (negative: nearer), along the line
    from the pelvis to the object at the start."""
    object_side: float = 0.0
    """m the object starts to the robot's left (negative: right) of that line."""
    object_yaw: float = 0.0
    """rad the object starts turned about the vertical."""

    def object(self, obj: ObjectSpec) -> ObjectSpec:
        """The simulated object: ``obj`` at ``object_size_scale``."""
        if self.object_size_scale == 1.0:
            return obj
        if obj.shape not in ("box", "cylinder", "capsule", "sphere"):
            raise ValueError(f"object_size_scale needs a primitive shape, not {obj.shape!r}")
        return replace(obj, size=tuple(self.object_size_scale * s for s in obj.size))

    def apply(self, model: mujoco.MjModel, object_name: str) -> None:
        """Write the model changes into ``model`` (compiled, with the policy's gains,
        torque limits and the object already set)."""
        obj = model.body(object_name).id
        model.actuator_gainprm[:, 0] *= self.kp_scale
        model.actuator_biasprm[:, 1] *= self.kp_scale
        model.actuator_forcerange[:] *= self.torque_scale
        hinge = model.jnt_dofadr[model.jnt_type == mujoco.mjtJoint.mjJNT_HINGE]
        model.dof_damping[hinge] += self.joint_damping
        model.dof_frictionloss[hinge] += self.joint_frictionloss
        if self.armature > 0:
            model.dof_armature[hinge] = self.armature
        robot = [b for b in range(1, model.nbody) if model.body_rootid[b] != obj]
        model.body_mass[robot] *= self.link_mass_scale
        model.body_inertia[robot] *= self.link_mass_scale
        model.body_mass[model.body("torso_link").id] += self.torso_mass
        model.body_mass[obj] *= self.object_mass_scale
        model.body_inertia[obj] *= self.object_mass_scale
        geoms = np.flatnonzero(model.geom_bodyid == obj)
        if self.object_friction > 0:
            model.geom_friction[geoms, 0] = self.object_friction
        if self.floor_friction > 0:
            feet = [g for g in range(model.ngeom) if "foot" in (model.geom(g).name or "")]
            model.geom_friction[feet, 0] = self.floor_friction
            model.pair_friction[:, :2] = self.floor_friction
        mujoco.mj_setConst(model, mujoco.MjData(model))

    def place_object(self, qpos: np.ndarray, root_q: int, obj_q: int, half_height: float) -> None:
        """Move the object in ``qpos`` (an episode's start) by the placement offsets; a
        larger object is lifted so that it rests on the floor as the clip's did."""
        toward = qpos[obj_q : obj_q + 2] - qpos[root_q : root_q + 2]
        toward = toward / max(np.linalg.norm(toward), 1e-9)
        left = np.array([-toward[1], toward[0]])
        qpos[obj_q : obj_q + 2] += self.object_distance * toward + self.object_side * left
        qpos[obj_q + 2] += (self.object_size_scale - 1.0) * half_height
        turn = quat.from_axis_angle(UP, np.array(self.object_yaw))
        qpos[obj_q + 3 : obj_q + 7] = quat.multiply(turn, qpos[obj_q + 3 : obj_q + 7])
