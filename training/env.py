"""The batched HOI tracking environment: N simulations of the G1 and one object, each
following a reference clip (InterMimic-style Stage 1 expert task).

Policy at ``control_hz`` (50 Hz default), physics at 1 / ``physics_dt`` (200 Hz). The
action is a joint-position offset from the default pose, scaled per joint by
``action_scale * effort_limit / kp`` (mjlab's rule), applied by the position servos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from robots import g1, quat
from robots.clip import MotionClip
from robots.g1.mjcf import SimOptions
from robots.objects import convex_planes
from robots.scene import build_scene
from training import rewards as R
from training import terminations as T
from training.backend import MujocoBatchBackend, PhysicsBackend
from training.observations import HAND_CONTACT, ObsInputs, body_object_distance, build_observation
from training.reference import ReferenceMotions
from training.state import StateIndex


@dataclass(frozen=True)
class EnvConfig:
    num_envs: int = 64
    num_threads: int = 0  # 0: all cores
    control_hz: float = 50.0
    physics_dt: float = 0.005
    future_offsets: tuple[int, ...] = (1, 2, 4, 16)
    episode_seconds: float = 10.0
    action_scale: float = 0.25
    action_clip: float = 10.0
    gains: str = "tracking"
    seed: int = 0
    rewards: R.RewardConfig = field(default_factory=R.RewardConfig)
    terminations: T.TerminationConfig = field(default_factory=T.TerminationConfig)


class HoiEnv:
    def __init__(self, clips: Sequence[MotionClip], cfg: EnvConfig = EnvConfig(), backend=None):
        self.cfg = cfg
        self.decimation = round(1.0 / (cfg.control_hz * cfg.physics_dt))
        if abs(self.decimation * cfg.physics_dt * cfg.control_hz - 1.0) > 1e-6:
            raise ValueError("control period must be a whole number of physics steps")
        self.refs = ReferenceMotions(clips, cfg.control_hz)
        self.object = self.refs.object
        self.model = build_scene(
            [self.object], gains=cfg.gains, options=SimOptions(timestep=cfg.physics_dt)
        ).compile()
        self.backend: PhysicsBackend = backend or MujocoBatchBackend(
            self.model, cfg.num_envs, cfg.num_threads
        )
        self.n = cfg.num_envs
        self.index = StateIndex(self.model, self.object.name)
        self.planes = convex_planes(self.object)
        kp, _ = g1.gains(cfg.gains)
        self.action_scale = cfg.action_scale * g1.EFFORT_LIMIT / kp
        self.max_steps = int(cfg.episode_seconds * cfg.control_hz)
        self.rng = np.random.default_rng(cfg.seed)
        self.clip = np.zeros(self.n, int)
        self.frame = np.zeros(self.n, int)
        self.steps = np.zeros(self.n, int)
        self.lost = np.zeros((self.n, 2), int)
        self.last_action = np.zeros((self.n, g1.NUM_JOINTS))
        self._ctrl = self.backend.field("ctrl")
        self._qpos = self.backend.field("qpos")
        self._qvel = self.backend.field("qvel")
        self.reset(np.arange(self.n))

    # Reset: reference state initialization ---------------------------------------------

    def reset(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids)
        if len(ids) == 0:
            return
        self.backend.reset(ids)
        clip = self.rng.integers(0, self.refs.num_clips, len(ids))
        frame = (self.rng.random(len(ids)) * (self.refs.lengths[clip] - 1)).astype(int)
        self.clip[ids], self.frame[ids] = clip, frame
        self.steps[ids] = 0
        self.lost[ids] = 0
        self.last_action[ids] = 0.0
        self.write_state(ids, *self.refs.state(clip, frame))

    def write_state(self, ids: np.ndarray, ref, contact=None) -> None:
        """Set simulations ``ids`` to a (reference) state, then recompute kinematics."""
        ix = self.index
        q, v = self._qpos, self._qvel
        q[ids, ix.root_q : ix.root_q + 3] = ref.root_pos
        q[ids, ix.root_q + 3 : ix.root_q + 7] = ref.root_quat
        q[ids[:, None], ix.joint_q] = ref.joint_pos
        q[ids, ix.obj_q : ix.obj_q + 3] = ref.object_pos
        q[ids, ix.obj_q + 3 : ix.obj_q + 7] = ref.object_quat
        v[ids, ix.root_v : ix.root_v + 3] = ref.root_lin_vel
        v[ids, ix.root_v + 3 : ix.root_v + 6] = ref.root_ang_vel
        v[ids[:, None], ix.joint_v] = ref.joint_vel
        v[ids, ix.obj_v : ix.obj_v + 3] = ref.object_lin_vel
        v[ids, ix.obj_v + 3 : ix.obj_v + 6] = quat.rotate(
            quat.conjugate(ref.object_quat), ref.object_ang_vel
        )
        self._ctrl[ids] = ref.joint_pos
        self.backend.forward(ids)

    # Stepping -------------------------------------------------------------------------

    def observation(self, state=None, distances=None) -> np.ndarray:
        """Observations of the current state (pass ``state``/``distances`` if already read)."""
        if state is None:
            state = self.index.from_backend(self.backend)
        future = [self.refs.state(self.clip, self.frame + k) for k in self.cfg.future_offsets]
        inputs = ObsInputs(state, self.last_action, future, self.planes, distances)
        return build_observation(inputs)

    def step(self, action: np.ndarray):
        """Apply (N, 29) actions for one control period. Returns (obs, reward, terminated,
        truncated, info); finished simulations are reset and their obs are the new ones."""
        action = np.clip(
            np.asarray(action, dtype=np.float64), -self.cfg.action_clip, self.cfg.action_clip
        )
        if action.shape != (self.n, g1.NUM_JOINTS):
            raise ValueError(f"action shape {action.shape}, expected ({self.n}, {g1.NUM_JOINTS})")
        self._ctrl[:] = g1.DEFAULT_POS + action * self.action_scale
        self.backend.step(self.decimation)
        self.last_action = action
        self.frame += 1
        self.steps += 1
        state = self.index.from_backend(self.backend)
        ref, contact = self.refs.state(self.clip, self.frame)
        dist, normal = body_object_distance(state, self.planes)
        touching = dist[:, HAND_CONTACT] < 0.05
        want = contact[:, :2] > 0.5
        self.lost = np.where(want & ~touching, self.lost + 1, 0)

        c = self.cfg.rewards
        terms = {
            "body_pos": R.body_pos_tracking(state, ref, c.sigma_body_pos),
            "body_rot": R.body_rot_tracking(state, ref, c.sigma_body_rot),
            "body_vel": R.body_vel_tracking(state, ref, c.sigma_body_vel),
            "object_pos": R.object_pos_tracking(state, ref, c.sigma_object_pos),
            "object_rot": R.object_rot_tracking(state, ref, c.sigma_object_rot),
            "contact": R.contact_tracking(touching, contact),
            "grasp": R.grasp(state, contact, dist, normal),
            "energy": R.energy(self.backend.field("actuator_force"), state.joint_vel),
        }
        tc = self.cfg.terminations
        terminated = (
            T.fallen(state, tc)
            | T.object_deviated(state, ref, tc)
            | T.robot_deviated(state, ref, tc)
            | T.contact_lost(self.lost, tc)
        )
        clip_end = self.frame >= self.refs.lengths[self.clip] - 1
        truncated = ~terminated & ((self.steps >= self.max_steps) | clip_end)
        reward = sum(getattr(c, k) * v for k, v in terms.items()) + c.termination * terminated
        done = np.flatnonzero(terminated | truncated)
        info = {"terms": terms, "episode_steps": self.steps[done].copy()}
        self.reset(done)
        if len(done):  # reset simulations changed state: read it again
            return self.observation(), reward, terminated, truncated, info
        return self.observation(state, (dist, normal)), reward, terminated, truncated, info
