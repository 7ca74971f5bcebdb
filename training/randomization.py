"""Robustness randomization (InterMimic+), drawn per simulation at every reset.

Model fields are per-simulation copies (``mujoco.batch`` expand): object mass (with its
inertia) and centre of mass, object and foot friction, contact softness, PD gains. Action
latency, sensor noise, velocity impulses and initial-state noise are applied by the
environment. What still separates training from sim2sim and the robot (1 kHz, latency,
sensor noise) is randomized around sim2sim's values here.
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
    own masses, friction, contact softness and gains; latency, noise and pushes as set)."""
    object_mass_scale: tuple[float, float] = (0.7, 1.3)
    object_com_offset: float = 0.02  # m, per axis
    object_friction: tuple[float, float] = (0.5, 1.2)
    foot_friction: tuple[float, float] = (0.4, 1.0)
    gain_scale: tuple[float, float] = (0.9, 1.1)  # kp and kd, per joint
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
    push_interval_s: tuple[float, float] = (1.0, 3.0)
    push_robot_velocity: float = 0.3  # m/s, pelvis impulse per axis (xy)
    push_object_velocity: float = 0.3  # m/s, object impulse per axis (xy)
    joint_pos_noise: float = 0.05  # rad at reset
    joint_vel_noise: float = 0.1  # rad/s at reset


class ModelRandomizer:
    """Writes per-simulation model values for reset simulations."""

    def __init__(self, backend, model: mujoco.MjModel, object_name: str, cfg: RandomizationConfig):
        self.cfg, self.backend = cfg, backend
        obj = model.body(object_name).id
        self.obj = obj
        self.mass = backend.model_field("body_mass")
        # index arrays and base values beside the fields (numpy, or tensors on their device)
        xp, dev, like = namespace(self.mass), device(self.mass), self.mass

        def index(a) -> np.ndarray:
            return xp.asarray(np.asarray(a, dtype=np.int64), device=dev)

        self.obj_geoms = index(np.flatnonzero(model.geom_bodyid == obj))
        self.foot_geoms = index(
            [g for g in range(model.ngeom) if "foot" in (model.geom(g).name or "")]
        )
        self.base_mass = float(model.body_mass[obj])
        self.base_inertia = as_like(model.body_inertia[obj], like)
        self.base_ipos = as_like(model.body_ipos[obj], like)
        self.base_gain = as_like(model.actuator_gainprm[:, 0], like)
        self.base_bias = as_like(model.actuator_biasprm[:, :3], like)
        self.inertia = backend.model_field("body_inertia")
        self.ipos = backend.model_field("body_ipos")
        self.friction = backend.model_field("geom_friction")
        self.solref = backend.model_field("geom_solref")
        self.gain = backend.model_field("actuator_gainprm")
        self.bias = backend.model_field("actuator_biasprm")

    def apply(self, ids: np.ndarray, rng) -> None:
        """New values for simulations ``ids`` (``rng``: numpy's Generator, or
        ``training.random_source.TorchRandom`` for tensor fields)."""
        c, n = self.cfg, len(ids)
        scale = rng.uniform(*c.object_mass_scale, n)
        self.mass[ids, self.obj] = self.base_mass * scale
        self.inertia[ids, self.obj] = self.base_inertia * scale[:, None]
        self.ipos[ids, self.obj] = self.base_ipos + rng.uniform(-1, 1, (n, 3)) * c.object_com_offset
        fr = rng.uniform(*c.object_friction, n)
        self.friction[ids[:, None], self.obj_geoms, 0] = fr[:, None]
        fr = rng.uniform(*c.foot_friction, n)
        self.friction[ids[:, None], self.foot_geoms, 0] = fr[:, None]
        self.solref[ids, :, 0] = rng.uniform(*c.contact_timeconst, n)[:, None]
        kp = rng.uniform(*c.gain_scale, (n, len(self.base_gain)))
        kd = rng.uniform(*c.gain_scale, (n, len(self.base_gain)))
        self.gain[ids, :, 0] = self.base_gain * kp
        self.bias[ids, :, 1] = self.base_bias[:, 1] * kp
        self.bias[ids, :, 2] = self.base_bias[:, 2] * kd
        # mj_setConst is not rerun: the dynamics read masses, inertias and gains directly;
        # the derived constants only scale constraint softness, and recomputing them at
        # every reset would cost more than the step itself.
