"""How a simulation turns the motors' PD targets into torque (``SimOptions.pd``).

``continuous``: MuJoCo's position actuators evaluate kp (q* - q) - kd dq inside every
physics step, as the robot's motor drivers run the law far faster than any command.
``sampled``: as Unitree's own simulator (unitree_mujoco's SDK bridge) does, each motor's
torque is computed from the joint state the previous physics step started from (the
sensors that step wrote) and held through the step. At its shipped 5 ms step this
feedback delay is what destabilizes gains the robot holds with ease (docs/robot.md)."""

from __future__ import annotations

from typing import Literal

import mujoco
import numpy as np

PdLaw = Literal["continuous", "sampled"]


class MotorLaw:
    """Physics steps of one ``MjData`` under a PD law. The gains are the position
    actuators' own (``robots.g1.mjcf.set_pd_gains`` and the virtual G1 write them), the
    targets ``data.ctrl``, so callers change neither for the sampled law."""

    def __init__(self, model: mujoco.MjModel, law: PdLaw = "continuous"):
        if law not in ("continuous", "sampled"):
            raise ValueError(f"PD law {law!r}: continuous or sampled")
        self.model, self.sampled = model, law == "sampled"
        joints = model.actuator_trnid[:, 0]
        self.qpos_adr, self.dof_adr = model.jnt_qposadr[joints], model.jnt_dofadr[joints]
        self.previous: tuple[np.ndarray, np.ndarray] | None = None

    def restart(self) -> None:
        """The data was reset or rewritten: no previous step's sensors yet."""
        self.previous = None

    def step(self, data: mujoco.MjData) -> None:
        m = self.model
        if not self.sampled:
            mujoco.mj_step(m, data)
            return
        q, dq = data.qpos[self.qpos_adr].copy(), data.qvel[self.dof_adr].copy()
        seen_q, seen_dq = self.previous if self.previous is not None else (q, dq)
        self.previous = (q, dq)
        gain, bias = m.actuator_gainprm[:, 0].copy(), m.actuator_biasprm[:, :3].copy()
        limited = m.actuator_ctrllimited.copy()
        targets = data.ctrl.copy()
        aimed = np.where(limited, np.clip(targets, *m.actuator_ctrlrange.T), targets)
        torque = gain * (aimed - seen_q) + bias[:, 2] * seen_dq  # biasprm: (0, -kp, -kd)
        # For this step the actuators are plain motors driven by that torque (their force
        # range still clamps it); then the position actuators and targets are back.
        m.actuator_gainprm[:, 0], m.actuator_biasprm[:, :3] = 1.0, 0.0
        m.actuator_ctrllimited[:] = 0
        data.ctrl[:] = torque
        try:
            mujoco.mj_step(m, data)
        finally:
            m.actuator_gainprm[:, 0], m.actuator_biasprm[:, :3] = gain, bias
            m.actuator_ctrllimited[:] = limited
            data.ctrl[:] = targets
