"""Starts from the robot node's hold: the node sets the robot down in the default pose,
holds it there on the stand gains and only then hands over to the policy, by which time
the robot has settled forward, pitched and sagged into its joints (sim2sim's default
check starts the same way). Here those settled states are simulated once per
environment, each simulation with its own randomized model, after several hold lengths,
and kept relative to where the robot was set down; a hold start puts one of them at the
clip's first place and heading (``HoiEnv.reset``)."""

from __future__ import annotations

import numpy as np

from common.array_namespace import like
from robots import g1, quat
from robots.g1.mjcf import default_qpos

FAR = 100.0  # m: where the object waits while the robots hold (no contact with them)


class HoldStarts:
    """(K, 7 + 29) robot positions and (K, 6 + 29) velocities of settled holds, set down
    at the origin facing +x; ``place`` moves drawn ones to a reference's start."""

    def __init__(self, env, seconds: tuple[float, ...]):
        ix, xp = env.index, env.xp
        self.q_index = like(np.r_[np.arange(ix.root_q, ix.root_q + 7), ix.joint_q], env._qpos)
        self.v_index = like(np.r_[np.arange(ix.root_v, ix.root_v + 6), ix.joint_v], env._qpos)
        self.q_index, self.v_index = (xp.astype(i, xp.int64) for i in (self.q_index, self.v_index))
        settled = _settled(env, sorted(seconds))
        self.qpos = xp.concat([q[:, self.q_index] for q, _ in settled])
        self.qvel = xp.concat([v[:, self.v_index] for _, v in settled])

    def place(self, env, ids, start_pos, start_quat) -> None:
        """Robots of simulations ``ids`` at drawn settled holds, moved to ``start_pos``
        (K, 3; its height is the hold's own) and the heading of ``start_quat`` (K, 4)."""
        xp, k = env.xp, len(ids)
        pick = env.rng.integers(0, self.qpos.shape[0], k)
        q, v = self.qpos[pick], self.qvel[pick]
        yaw = quat.yaw(start_quat)
        up = xp.broadcast_to(like(np.array([0.0, 0.0, 1.0]), q), (k, 3))
        turn = quat.from_axis_angle(up, yaw)
        pos = quat.rotate(turn, q[:, :3])
        pos = xp.concat([pos[:, :2] + start_pos[:, :2], pos[:, 2:]], axis=1)
        q = xp.concat([pos, quat.multiply(turn, q[:, 3:7]), q[:, 7:]], axis=1)
        # a free joint's linear velocity is in the world frame, its angular in the body's
        v = xp.concat([quat.rotate(turn, v[:, :3]), v[:, 3:]], axis=1)
        qpos, qvel = env._qpos[ids], env._qvel[ids]
        qpos[:, self.q_index], qvel[:, self.v_index] = q, v
        env._qpos[ids], env._qvel[ids] = qpos, qvel


def _settled(env, seconds):
    """Every simulation of ``env`` set down in the default pose at the origin and held on
    the stand gains (scaled as its randomized tracking gains are): (qpos, qvel) copies
    after each of ``seconds``. The gains are restored after; the caller resets the
    simulations."""
    xp, backend, n = env.xp, env.backend, env.n
    ix = env.index
    gain, bias = backend.model_field("actuator_gainprm"), backend.model_field("actuator_biasprm")
    saved = xp.asarray(gain[..., 0], copy=True), xp.asarray(bias[..., 1:3], copy=True)
    kp, kd = (like(a, env._qpos) for a in g1.gains(env.cfg.gains))
    stand_kp, stand_kd = (like(a, env._qpos) for a in g1.gains("stand"))
    gain[..., 0] = stand_kp * (saved[0] / kp)
    bias[..., 1] = -gain[..., 0]
    bias[..., 2] = stand_kd * saved[1][..., 1] / kd
    qpos = xp.asarray(env._qpos, copy=True)
    qpos[:, ix.root_q : ix.root_q + 7] = like(default_qpos()[:7], qpos)
    qpos[:, env._joint_q] = env._default_pos
    qpos[:, ix.obj_q] = FAR
    env._qpos[:] = qpos
    env._qvel[:] = 0.0
    backend.forward()
    ctrl = xp.broadcast_to(env._default_pos, (n, g1.NUM_JOINTS))
    dt, held, out = env.cfg.physics.timestep, 0, []
    try:
        for s in seconds:
            steps = round(s / dt) - held
            for _ in range(steps):
                backend.step(1, ctrl[None])
            held += steps
            out.append((xp.asarray(env._qpos, copy=True), xp.asarray(env._qvel, copy=True)))
    finally:
        gain[..., 0] = saved[0]
        bias[..., 1:3] = saved[1]
    return out
