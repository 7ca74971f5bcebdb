"""Sim-to-sim: run an exported policy in MuJoCo with physics stricter than training's.

Differences from training: 1 kHz physics, elliptic friction cone (impratio 10), more
solver iterations, a configurable action latency, sensor noise on joint encoders and
the IMU, PD gains and torque limits read from the policy file. Observations come from
the same contract code as training (``training.observations``); numpy + onnxruntime
only, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from robots import g1
from robots.clip import MotionClip
from robots.g1.mjcf import SimOptions
from robots.objects import convex_planes, surface_points
from robots.scene import build_scene
from sim2sim.chain import ChainGoal
from sim2sim.policy import Policy
from training.goals.features import GOAL_TOLERANCE, goal_distance
from training.goals.masks import pattern_mask
from training.goals.tokens import GoalConfig, Goals
from training.inbetween import InbetweenConfig
from training.metrics import body_error, object_point_error
from training.observations import (
    ObsInputs,
    body_object_distance,
    build_observation,
    proprioception,
)
from training.reference import ReferenceMotions
from training.state import StateIndex
from training.terminations import (
    TerminationConfig,
    contact_lost,
    count_contact_lost,
    fallen,
    hands_touching,
    object_deviated,
    robot_deviated,
    standing,
)

# Get-up (Stage 3 policies with the get-up token): the token turns on when the robot
# falls and off once it stands, with the training task's thresholds; down longer than
# its get-up time ends the episode.
GETUP = InbetweenConfig()


@dataclass(frozen=True)
class Sim2SimSettings:
    physics_hz: float = 1000.0
    latency_ms: float = 5.0  # targets reach the motors this long after the observation
    joint_pos_noise: float = 0.005  # rad
    joint_vel_noise: float = 0.05  # rad/s
    gyro_noise: float = 0.02  # rad/s
    push_velocity: float = 0.0  # m/s; > 0 pushes the pelvis every 1-3 s (--perturb)
    seed: int = 0
    goals: str = "full"  # Stage 2 policies: the goal mask pattern (training.goals.masks)
    sample: bool = False  # Stage 2: a seeded latent draw per episode instead of the mean
    getup: bool = True  # Stage 3 policies with a get-up token: use it after falls


class Sim2Sim:
    def __init__(
        self, policy: Policy, clip: MotionClip, settings: Sim2SimSettings = Sim2SimSettings(),
        chain: list[ChainGoal] | None = None,
    ):  # fmt: skip
        self.policy, self.clip, self.s = policy, clip, settings
        self.chain = list(chain or [])
        if self.chain and policy.goals is None:
            raise ValueError("a goal chain needs a goal-conditioned (Stage 2/3) policy")
        options = SimOptions(
            timestep=1.0 / settings.physics_hz, cone="elliptic", impratio=10.0,
            iterations=50, ls_iterations=50,
        )  # fmt: skip
        self.model = build_scene([clip.object], options=options).compile()
        m = self.model
        m.actuator_gainprm[:, 0] = policy.kp
        m.actuator_biasprm[:, 1] = -policy.kp
        m.actuator_biasprm[:, 2] = -policy.kd
        m.actuator_forcerange[:] = np.c_[-policy.effort_limit, policy.effort_limit]
        self.data = mujoco.MjData(m)
        self.decimation = round(settings.physics_hz / policy.control_hz)
        self.latency_steps = min(
            round(settings.latency_ms * 1e-3 * settings.physics_hz), self.decimation
        )
        self.refs = ReferenceMotions([clip], policy.control_hz)
        self.index = StateIndex(m, clip.object.name)
        self.planes = convex_planes(clip.object)
        self.points = surface_points(clip.object, 1024)
        self.rng = np.random.default_rng(settings.seed)
        self.terminations = TerminationConfig()
        self.goals = None
        self.can_getup = bool(settings.getup and policy.goals and "getup" in policy.goals.tasks)
        if policy.goals is not None:
            layout = policy.goals
            cfg = GoalConfig(history=layout.history, snapshot_steps=layout.snapshot_steps)
            self.goals = Goals(1, cfg, policy.control_hz, self.rng, pattern=settings.goals)

    def reset(self, frame: int = 0) -> None:
        mujoco.mj_resetDataKeyframe(self.model, self.data, self.model.key("default").id)
        ref, _ = self.refs.state(np.zeros(1, int), np.array([frame]))
        # qpos[None] / qvel[None] are views: the write lands in MjData.
        self.index.write(self.data.qpos[None], self.data.qvel[None], ref)
        self.data.ctrl[:] = ref.joint_pos[0]
        mujoco.mj_forward(self.model, self.data)
        self.frame = float(frame)
        self.last_action = np.zeros((1, g1.NUM_JOINTS))
        self.targets = ref.joint_pos[0].copy()
        self.next_push = self._push_delay()
        self.lost = np.zeros((1, 2), int)
        self.getup = False
        self.down_steps = 0
        if self.goals is not None:
            self.pinned = False
            self.queue: list[ChainGoal] = []
            self.current: ChainGoal | None = None
            self.hold_left = 0.0
            self.reached: list[dict] = []  # per chained goal: where, error at its time
            latent = self.policy.goals.latent_dim
            self.noise = (self.rng.normal(size=(1, latent)) if self.s.sample
                          else np.zeros((1, latent)))  # fmt: skip
            obs = self.observation(self.index.from_mjdata(self.data))
            self.goals.reset(np.zeros(1, int), np.array([frame]), self._last(), proprioception(obs))

    def _push_delay(self) -> float:
        return self.rng.uniform(1.0, 3.0) * self.policy.control_hz

    def measured_state(self):
        """The state as the robot's sensors report it: encoder and gyro noise added."""
        state = self.index.from_mjdata(self.data)
        s = self.s
        state.joint_pos = state.joint_pos + self.rng.normal(scale=s.joint_pos_noise, size=(1, 29))
        state.joint_vel = state.joint_vel + self.rng.normal(scale=s.joint_vel_noise, size=(1, 29))
        state.root_ang_vel = state.root_ang_vel + self.rng.normal(scale=s.gyro_noise, size=(1, 3))
        return state

    def observation(self, state=None) -> np.ndarray:
        state = state if state is not None else self.measured_state()
        frame = np.array([int(self.frame)])
        future = self.refs.future(np.zeros(1, int), frame, self.policy.future_offsets)
        return build_observation(ObsInputs(state, self.last_action, future, self.planes))

    def _last(self) -> np.ndarray:
        return self.refs.lengths[:1] - 1

    def pin_snapshot(self, frame: int, seconds: float = 1.0) -> None:
        """Stage 2/3: make the clip's ``frame`` the snapshot goal, reached ``seconds``
        from now (the reference clock restarts that long before it and stops there)."""
        frame = int(np.clip(frame, 0, self._last()[0]))
        self.goals.snapshot[:] = frame
        self.frame = float(max(frame - seconds * self.policy.control_hz, 0))
        self.pinned = True

    def start_goal(self, goal: ChainGoal) -> None:
        """Switch to ``goal`` now (mid-trajectory command switching)."""
        self.goals.pattern = goal.pattern
        self.goals.mask[:] = pattern_mask(goal.pattern)
        self.pin_snapshot(goal.frame(int(self._last()[0])), goal.seconds)
        self.current, self.hold_left = goal, goal.hold

    def queue_goal(self, goal: ChainGoal) -> None:
        """Append ``goal`` to the chain (started at once when no goal is active)."""
        if self.current is None:
            self.start_goal(goal)
        else:
            self.queue.append(goal)

    def _advance_chain(self) -> None:
        """At the goal's time: record its error; after its hold, start the next goal."""
        if self.current is None or self.frame < self.goals.snapshot[0]:
            return
        if len(self.reached) == 0 or self.reached[-1]["goal"] is not self.current:
            state = self.index.from_mjdata(self.data)
            _, _, residual = self.goals.tokens(state, self.refs, np.zeros(1, int),
                                               self.goals.snapshot.copy())  # fmt: skip
            error = float(goal_distance(residual[:, -1:], self.goals.mask[:, -1:])[0])
            self.reached.append({"goal": self.current, "error_cm": 100 * error})
        self.hold_left -= 1.0 / self.policy.control_hz
        if self.hold_left <= 0:
            self.current = None
            if self.queue:
                self.start_goal(self.queue.pop(0))

    def act(self) -> np.ndarray:
        """The policy's action now: Stage 1 from the observation, Stage 2 from the goals
        (the snapshot moves ahead once reached unless pinned from the keyboard)."""
        state = self.measured_state()
        obs = self.observation(state)
        if self.goals is None:
            return self.policy(obs)
        g, frame = self.goals, np.array([int(self.frame)])
        g.advance(frame if not self.pinned else np.minimum(frame, g.snapshot - 1),
                  self._last(), proprioception(obs))  # fmt: skip
        tokens, visible, _ = g.tokens(state, self.refs, np.zeros(1, int), frame)
        task = None
        if self.can_getup:
            if fallen(state, self.terminations)[0]:
                self.getup = True
            elif standing(state, GETUP.standing_height, GETUP.upright_cos)[0]:
                self.getup = False
            task = np.full((1, len(self.policy.goals.tasks)), 0.0)
            task[0, self.policy.goals.tasks.index("getup")] = float(self.getup)
        return self.policy.act(g.history, tokens, visible, self.noise, task)

    def step(self, speed: float = 1.0) -> dict:
        """One control period: observe, infer, actuate with latency; the reference
        advances by ``speed`` frames (teleop playback control)."""
        action = self.act()
        ahead = np.array([int(min(self.frame + speed, self._last()[0]))])
        reference = self.refs.state(np.zeros(1, int), ahead)[0].joint_pos[0]
        new_targets = self.policy.targets(action[0], reference)
        max_torque, limit_hits = 0.0, 0
        for k in range(self.decimation):
            self.data.ctrl[:] = self.targets if k < self.latency_steps else new_targets
            mujoco.mj_step(self.model, self.data)
            max_torque = max(max_torque, float(np.abs(self.data.actuator_force).max()))
        self.targets = new_targets
        self.last_action = action
        q = self.data.qpos[self.index.joint_q]
        limit_hits = int(np.sum((q <= g1.JOINT_LOWER + 1e-3) | (q >= g1.JOINT_UPPER - 1e-3)))
        if self.s.push_velocity > 0:
            self.next_push -= 1
            if self.next_push <= 0:
                rv = self.index.root_v
                self.data.qvel[rv : rv + 2] += self.rng.uniform(-1, 1, 2) * self.s.push_velocity
                self.next_push = self._push_delay()
        self.frame += speed
        if self.goals is not None and self.pinned:
            self.frame = min(self.frame, float(self.goals.snapshot[0]))
            self._advance_chain()
        return {"max_torque": max_torque, "limit_hits": limit_hits}

    def errors(self):
        """True state vs the reference at the current frame: E_h, E_o (m), termination."""
        state = self.index.from_mjdata(self.data)
        ref, contact = self.refs.state(np.zeros(1, int), np.array([int(self.frame)]))
        e_h = float(body_error(state, ref)[0])
        e_o = float(object_point_error(state, ref, self.points)[0])
        tc = self.terminations
        dist, _ = body_object_distance(state, self.planes)
        self.lost = count_contact_lost(self.lost, hands_touching(dist), contact)
        fell = bool(fallen(state, tc)[0])
        if self.can_getup:  # a fall ends the attempt only if the robot stays down
            self.down_steps = self.down_steps + 1 if fell else 0
            down = self.down_steps > GETUP.getup_seconds * self.policy.control_hz
            if self.chain or self.s.goals != "full":
                return e_h, e_o, fell, down
        if self.goals is not None and (self.chain or self.s.goals != "full"):
            return e_h, e_o, fell, fell  # sparse goals: only a fall ends the attempt
        ended = fell or bool(
            object_deviated(state, ref, tc)[0]
            | robot_deviated(state, ref, tc)[0]
            | contact_lost(self.lost, tc)[0]
        )
        return e_h, e_o, fell, ended

    def episode(self, record: bool = False) -> dict:
        """Run from the clip's first frame to its end (with a goal chain: until the last
        goal's hold is over) or an early termination."""
        self.reset(0)
        hz = self.policy.control_hz
        last = self.refs.lengths[0] - 1
        if self.chain:
            self.queue = list(self.chain[1:])
            self.start_goal(self.chain[0])
            limit = sum(g.seconds + g.hold for g in self.chain) * hz + 1
        e_h = e_o = 0.0
        frames = limit_hits = 0
        max_torque = 0.0
        fell = ended = False
        states = []
        while (self.current is not None and frames < limit) if self.chain else self.frame < last:
            info = self.step()
            h, o, down, ended = self.errors()
            fell |= down
            e_h, e_o, frames = e_h + h, e_o + o, frames + 1
            max_torque = max(max_torque, info["max_torque"])
            limit_hits += info["limit_hits"]
            if record:
                states.append(self.index.from_mjdata(self.data))
            if ended:
                break
        survived = not ended and not fell  # getting up again is no success
        result = {
            "success": survived,
            "E_h_cm": 100 * e_h / max(frames, 1),
            "E_o_cm": 100 * e_o / max(frames, 1),
            "fell": fell,
            "survival_s": frames / hz,
            "joint_limit_hits": limit_hits,
            "max_torque_nm": max_torque,
            "states": states,
        }
        if self.chain:
            result["goals"] = [{"at": r["goal"].at, "pattern": r["goal"].pattern,
                                "error_cm": r["error_cm"]} for r in self.reached]  # fmt: skip
            result["success"] = (
                survived and len(self.reached) == len(self.chain)
                and all(r["error_cm"] < 100 * GOAL_TOLERANCE for r in self.reached)
            )  # fmt: skip
        return result
