"""Sim-to-sim: run an exported policy in MuJoCo as the robot would run it.

The contact model is training's (``robots.g1.mjcf.SimOptions``); what differs: 1 kHz
physics, a fixed action latency, sensor noise on joint encoders and the IMU, PD gains
and torque limits read from the policy file (training randomizes latency, noise and
contact parameters around these). Each control step goes
through the same policy runner as the robot node (``contract.runner``); numpy +
onnxruntime only, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import mujoco
import numpy as np

from contract.actions import ramped, safe_targets
from contract.estimator import estimate_state
from contract.goals.chain import ChainGoal
from contract.goals.features import GOAL_TOLERANCE
from contract.judge import StepJudge
from contract.leg_odometry import OdometryTrail
from contract.metrics import AttemptStats
from contract.policy import Policy
from contract.reference import ONLY_CLIP
from contract.runner import PolicyRunner
from contract.sensors import LATENCY_S, SensorNoise
from contract.state import StateIndex
from contract.terminations import TerminationConfig, fallen, with_getup
from contract.tracker import OBJECT, PELVIS, SimulatedTracker, TrackedBody, TrackerSettings
from robots import g1, quat
from robots.clip import MotionClip
from robots.g1.mjcf import STRICT, SimOptions, default_qpos, pd_gains, set_pd_gains
from robots.motor_law import MotorLaw
from robots.objects import bounds, surface_points
from robots.scene import build_scene
from sim2sim.perturbation import Perturbation


@dataclass(frozen=True)
class Sim2SimSettings:
    physics: SimOptions = STRICT
    """Physics: sim2sim's strict settings by default (``robots.g1.mjcf.STRICT``)."""
    latency_ms: float = 1e3 * LATENCY_S
    """Targets reach the motors this long after the observation."""
    noise: SensorNoise = SensorNoise()
    """Sensor noise, drawn every control step (training draws it the same way)."""
    push_velocity: float = 0.0
    """m/s; > 0 pushes the pelvis by up to this every 1-3 s (robustness, e.g. 0.5)."""
    seed: int = 0
    goals: str = "full"
    """Stage 2/3 policies: the goal pattern taken from the clip (full, snapshot,
    trajectory, contact, snapshot+trajectory, contact+trajectory); keys 1-9 / g in the
    viewer."""
    sample: bool = False
    """Stage 2/3: a seeded latent draw per episode instead of the mean."""
    getup: bool = True
    """Stage 3 policies with a get-up token: turn it on after falls."""
    start: Literal["standing", "clip"] = "standing"
    """Where an episode starts: the default standing pose at the clip's first place and
    heading, held on the stand gains for ``hold_s`` as the robot node holds it before it
    hands over to a policy; or the clip's first frame."""
    hold_s: float = 1.0
    """s of the standing start's hold (the node's ``--hold-seconds``): the robot settles
    on the stand gains, 3-4 cm forward of where it was set down, before the policy."""
    sensing: Literal["tracker", "object-tracker", "true"] = "tracker"
    """What the policy sees. ``tracker``: as the robot node with a tracker that sees the
    object and the pelvis (motion capture; the virtual G1's): both through the tracker
    model (``--tracker.*``: rate, latency, position noise, lost captures) and the node's
    extrapolation, the rest from the robot's sensors, through the node's estimator
    (``contract.estimator``). ``object-tracker``: as the node when the tracker sees the
    object only: the pelvis position from the reference (open loop), its velocity from
    leg odometry. ``true``: the true state (an upper bound)."""
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    perturb: Perturbation = field(default_factory=Perturbation)
    """The model and the task off their nominal values (the robustness sweep's axes)."""


# Sim2sim before it started and sensed as the robot does: the clip's first frame, the
# true object pose and pelvis velocity (an upper bound on what the robot can do).
IDEAL = Sim2SimSettings(start="clip", sensing="true")


class Sim2Sim:
    def __init__(
        self, policy: Policy, clip: MotionClip, settings: Sim2SimSettings = Sim2SimSettings(),
        chain: list[ChainGoal] | None = None,
    ):  # fmt: skip
        self.policy, self.clip, self.s = policy, clip, settings
        self.chain = list(chain or [])
        if self.chain and policy.goals is None:
            raise ValueError("a goal chain needs a goal-conditioned (Stage 2/3) policy")
        perturb = settings.perturb
        self.model = build_scene([perturb.object(clip.object)], options=settings.physics).compile()
        m = self.model
        set_pd_gains(m, policy.kp, policy.kd)
        m.actuator_forcerange[:] = np.c_[-policy.effort_limit, policy.effort_limit]
        perturb.apply(m, clip.object.name)
        self.data = mujoco.MjData(m)
        self.motors = MotorLaw(m, settings.physics.pd)
        dt = settings.physics.timestep
        self.decimation = round(1.0 / (dt * policy.control_hz))
        self.latency_steps = min(round(settings.latency_ms * 1e-3 / dt), self.decimation)
        self.rng = np.random.default_rng(settings.seed)
        self.runner = PolicyRunner(policy, clip, self.rng, pattern=settings.goals,
                                   sample=settings.sample, getup=settings.getup)  # fmt: skip
        self.refs, self.goals = self.runner.refs, self.runner.goals
        self.index = StateIndex(m, clip.object.name)
        self.points = surface_points(clip.object, 1024)
        tc = TerminationConfig()
        # Sparse goals (a pattern other than full, or a chain): only a fall ends an attempt.
        self.sparse = self.goals is not None and bool(self.chain or settings.goals != "full")
        self.terminations = tc.falls_only() if self.sparse else tc

    @property
    def frame(self) -> float:
        """The reference frame the policy is at (the runner's clock)."""
        return self.runner.frame

    @frame.setter
    def frame(self, value: float) -> None:
        self.runner.frame = value

    def reset(self, frame: int = 0) -> None:
        mujoco.mj_resetDataKeyframe(self.model, self.data, self.model.key("default").id)
        self.motors.restart()
        ref, _ = self.refs.state(ONLY_CLIP, np.array([frame]))
        # qpos[None] / qvel[None] are views: the write lands in MjData.
        self.index.write(self.data.qpos[None], self.data.qvel[None], ref)
        qpos, ix = self.data.qpos, self.index
        if self.s.start == "standing":  # at the frame's place and heading
            r = ix.root_q
            place = (*qpos[r : r + 2], quat.yaw(qpos[r + 3 : r + 7]))
            standing = default_qpos(place)
            qpos[r : r + 7], qpos[ix.joint_q] = standing[:7], standing[7:]
            self.data.qvel[:] = 0.0
        self.s.perturb.place_object(qpos, ix.root_q, ix.obj_q, -bounds(self.clip.object)[0][2])
        self.data.ctrl[:] = qpos[ix.joint_q]
        mujoco.mj_forward(self.model, self.data)
        if self.s.start == "standing":
            self._hold()
        self.targets = self.data.ctrl.copy()
        self.next_push = self._push_delay()
        self.judge = StepJudge(self.clip, self.terminations)
        self.down_steps = 0
        self.tracker = SimulatedTracker(self.s.tracker, self.rng)
        seen = (OBJECT, PELVIS) if self.s.sensing == "tracker" else (OBJECT,)
        self.tracked = {body: TrackedBody(self.s.tracker.latency) for body in seen}
        self.odometry = OdometryTrail()
        if self.s.sensing != "true":  # the first captures have arrived before the start
            for body, (pos, q) in self._poses().items():
                self.tracked[body].add(-1.0, pos, q, self.data.time)
        self.runner.reset(frame, self.index.from_mjdata(self.data))

    def _hold(self) -> None:
        """The node's hold: the default pose on the stand gains (as perturbed as the
        policy's) for ``hold_s``, the clock back at 0 after."""
        m = self.model
        steps = round(self.s.hold_s / m.opt.timestep)
        if not steps:
            return
        kp, kd = pd_gains(m)
        scale = kp / self.policy.kp
        set_pd_gains(m, *(scale * gain for gain in g1.gains("stand")))
        self.data.ctrl[:] = g1.DEFAULT_POS
        for _ in range(steps):
            self.motors.step(self.data)
        set_pd_gains(m, kp, kd)
        self.data.time = 0.0
        mujoco.mj_forward(m, self.data)

    def _push_delay(self) -> float:
        return self.rng.uniform(1.0, 3.0) * self.policy.control_hz

    def measured_state(self):
        """The state as the policy sees it (``sensing``): encoder and gyro noise added;
        with a tracker, the node's estimate from these sensors and the tracked poses."""
        state = self.s.noise.measure(self.index.from_mjdata(self.data), self.rng)
        if self.s.sensing == "true":
            return state
        t = self.data.time
        pelvis = self.tracked.get(PELVIS)
        pelvis_position = None if pelvis is None else pelvis.carried(t, self.odometry)
        estimate = estimate_state(state.joint_pos[0], state.joint_vel[0], state.root_quat[0],
                                  state.root_ang_vel[0], self.runner.reference()[0],
                                  self.tracked[OBJECT].pose(t), pelvis_position)  # fmt: skip
        self.odometry.add(t, estimate.root_lin_vel[0])
        return estimate

    def _poses(self) -> dict:
        """The tracked bodies' true poses now."""
        q, start = self.data.qpos, {OBJECT: self.index.obj_q, PELVIS: self.index.root_q}
        return {body: (q[a : a + 3].copy(), q[a + 3 : a + 7].copy())
                for body, a in ((b, start[b]) for b in self.tracked)}  # fmt: skip

    def _track(self) -> None:
        """The tracker watching the simulation: capture when due, deliver when arrived."""
        t = self.data.time
        self.tracker.capture(t, self._poses())
        for stamp, body, pos, wxyz, valid in self.tracker.due(t):
            if valid:
                self.tracked[body].add(stamp, pos, wxyz, t)

    def observation(self) -> np.ndarray:
        """The policy's observation of the measured state now."""
        return self.runner.observation(self.measured_state())

    def step(self, speed: float = 1.0) -> dict:
        """One control period: observe, infer, actuate with latency; the reference
        advances by ``speed`` frames (teleop playback control)."""
        runner = self.runner
        raw = runner.infer(runner.inputs(self.measured_state()))
        new_targets = safe_targets(runner.advance(raw, speed))  # what the node sends
        max_torque, dt = 0.0, self.model.opt.timestep
        for k in range(self.decimation):
            goal = self.targets if k < self.latency_steps else new_targets
            self.data.ctrl[:] = ramped(goal, self.data.ctrl, dt)
            self.motors.step(self.data)
            max_torque = max(max_torque, float(np.abs(self.data.actuator_force).max()))
            if self.s.sensing != "true":
                self._track()
        # mj_step leaves positions and velocities one substep ahead of the kinematics it
        # computed: bring them up to date before anything reads the state.
        mujoco.mj_fwdPosition(self.model, self.data)
        mujoco.mj_fwdVelocity(self.model, self.data)
        self.targets = new_targets
        q = self.data.qpos[self.index.joint_q]
        limit_hits = int(np.sum((q <= g1.JOINT_LOWER + 1e-3) | (q >= g1.JOINT_UPPER - 1e-3)))
        if self.s.push_velocity > 0:
            self.next_push -= 1
            if self.next_push <= 0:
                rv = self.index.root_v
                self.data.qvel[rv : rv + 2] += self.rng.uniform(-1, 1, 2) * self.s.push_velocity
                self.next_push = self._push_delay()
        runner.follow_goals(self.index.from_mjdata(self.data))
        return {"max_torque": max_torque, "limit_hits": limit_hits}

    def outcome(self) -> dict:
        """The true state against the reference at the current frame, as an evaluation
        records it (``contract.metrics.AttemptStats``): state, reference, termination
        causes, and whether the robot is down now (``fallen``)."""
        state = self.index.from_mjdata(self.data)
        ref, contact = self.runner.reference()
        causes = self.judge.causes(state, ref, contact)
        down = fallen(state, self.terminations)
        # With the get-up token a fall ends the attempt only if the robot stays down longer
        # than the training task's get-up time.
        if self.sparse and self.runner.can_getup:
            self.down_steps = self.down_steps + 1 if down[0] else 0
            limit = self.runner.getup_cfg.seconds * self.policy.control_hz
            causes = with_getup(causes, down, np.array([self.down_steps]), limit)
        return {"state": state, "reference": ref, "causes": causes, "fallen": down}

    def _running(self, frames: int, limit: float) -> bool:
        if self.chain:
            return self.goals.current is not None and frames < limit
        return self.frame < self.runner.last

    def episode(self, record: bool = False) -> dict:
        """Run from the clip's first frame to its end (with a goal chain: until the last
        goal's hold is over) or an early termination."""
        self.reset(0)
        hz = self.policy.control_hz
        limit = 0.0
        if self.chain:
            for goal in self.chain:
                self.runner.queue_goal(goal)  # the first starts at once
            limit = sum(g.seconds + g.hold for g in self.chain) * hz + 1
        stats = AttemptStats(1, self.points)
        limit_hits, max_torque, states = 0, 0.0, []
        while stats.alive[0] and self._running(int(stats.frames[0]), limit):
            info = self.step()
            max_torque = max(max_torque, info["max_torque"])
            limit_hits += info["limit_hits"]
            out = self.outcome()
            if record:
                states.append(out["state"])
            terminated = np.logical_or.reduce(list(out["causes"].values()))
            done = ~terminated & (not self._running(int(stats.frames[0]) + 1, limit))
            stats.record(terminated, done, {**out, "clip_end": done})
        fell = bool(stats.fell[0])
        result = {
            "success": bool(stats.success[0]) and not fell,  # getting up again is no success
            "E_h_cm": float(100 * stats.per_frame(stats.e_h)[0]),
            "E_o_cm": float(100 * stats.per_frame(stats.e_o)[0]),
            "fell": fell,
            "survival_s": float(stats.frames[0] / hz),
            "ended_by": stats.ended_by[0],
            "joint_limit_hits": limit_hits,
            "max_torque_nm": max_torque,
            "states": states,
        }
        if self.chain:
            reached = self.goals.reached
            result["goals"] = [{"at": r["goal"].at, "pattern": r["goal"].pattern,
                                "error_cm": r["error_cm"]} for r in reached]  # fmt: skip
            result["success"] = (
                result["success"] and len(reached) == len(self.chain)
                and all(r["error_cm"] < 100 * GOAL_TOLERANCE for r in reached)
            )  # fmt: skip
        return result


def summary(episodes: list[dict]) -> dict:
    """The report's figures over ``episodes`` (``Sim2Sim.episode`` results)."""
    return {
        "success_rate": float(np.mean([e["success"] for e in episodes])),
        "E_h_cm": float(np.mean([e["E_h_cm"] for e in episodes])),
        "E_o_cm": float(np.mean([e["E_o_cm"] for e in episodes])),
        "fall_rate": float(np.mean([e["fell"] for e in episodes])),
        "joint_limit_hits": int(sum(e["joint_limit_hits"] for e in episodes)),
        "max_torque_nm": float(max(e["max_torque_nm"] for e in episodes)),
    }
