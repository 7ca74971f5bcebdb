"""The batched HOI tracking environment: N simulations of the G1 and one object, each
following a reference clip (InterMimic-style Stage 1 expert task).

Its arrays are numpy on the host, or, with ``on_device`` and the warp backend, torch
tensors on the simulation's device: state, references, random draws, observations,
rewards, terminations and resets never leave it (the terms are written once for both,
``common.array_namespace``).

Policy at ``control_hz`` (50 Hz default), physics as ``physics`` sets it (200 Hz). The
action is a joint-position offset from the default pose (or from the reference's next
pose, ``action_base``), scaled per joint by ``action_scale * effort_limit / kp``
(mjlab's rule), applied by the position servos.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import tyro
from array_api_compat import device

from common.array_namespace import constant, like, namespace
from contract import terminations as T
from contract.actions import (
    ACTION_BASES,
    ACTION_CLIP,
    ACTION_SCALE,
    CONTROL_HZ,
    clip_action,
    joint_scale,
    joint_targets,
    ramped,
    safe_targets,
)
from contract.leg_odometry import pelvis_velocity_of
from contract.metrics import body_error
from contract.observations import (
    FUTURE_OFFSETS,
    ObsInputs,
    body_object_distance,
    build_observation,
)
from contract.policy_file import PolicyInterface
from contract.reference import ReferenceMotions
from contract.state import StateIndex
from robots import g1, quat
from robots.clip import MotionClip
from robots.g1.mjcf import SimOptions
from robots.objects import convex_planes
from robots.scene import build_scene
from training import rewards as R
from training.backend import PhysicsBackend, make_backend
from training.penetration import Depths, PenetrationProbe, WarpProbe
from training.random_source import make_random
from training.randomization import ModelRandomizer, RandomizationConfig
from training.tracker_delay import TrackerDelay


@dataclass(frozen=True)
class EnvConfig:
    num_envs: int = 64
    num_threads: int = 0  # 0: all cores
    backend: tyro.conf.Suppress[str] = "batch"  # the commands' --backend (training.backend)
    device: tyro.conf.Suppress[str] = "cpu"  # the commands' --device
    control_hz: float = CONTROL_HZ
    physics: SimOptions = SimOptions()
    future_offsets: tuple[int, ...] = FUTURE_OFFSETS
    episode_seconds: float = 10.0
    action_scale: float = ACTION_SCALE
    action_clip: float = ACTION_CLIP
    action_base: str = "default"  # or "reference" (contract.actions)
    gains: str = "tracking"
    seed: int = 0
    rewards: R.RewardConfig = field(default_factory=R.RewardConfig)
    terminations: T.TerminationConfig = field(default_factory=T.TerminationConfig)
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    psi_size: int = 3
    """Physical State Initialization: simulated states of well-tracked frames kept per
    reference frame."""
    psi_prob: float = 0.5
    """Probability that a kept simulated state replaces the reference start."""
    psi_tolerance: float = 0.1  # m: body and object error below which a state is kept
    # Joint-angle noise at every reset, randomization or not (random-init-like starts).
    start_joint_noise: float = 0.0  # rad
    # Perturbed starts (joint noise, shifts) are drawn this many times; the first draw that
    # does not push the robot into the object deeper than the unperturbed state plus the
    # tolerance is kept (else the unperturbed state), then lifted out of the floor
    # (training.penetration).
    start_tries: int = 8
    start_object_tolerance: float = 0.01  # m
    # Starts (perturbed, shifted or PSI states) with one robot geom deeper than this in
    # another are refused as those pushed into the object are.
    start_self_tolerance: float = 0.01  # m


def _first_of_each(keys, spare: int, xp):
    """(indices, keys) in a stable sort of ``keys`` where every key but the first of each
    distinct value became ``spare`` (the same shape whatever the keys)."""
    order = xp.argsort(keys, stable=True)
    sorted_keys = keys[order]
    first = xp.ones(sorted_keys.shape, dtype=xp.bool, device=device(keys))
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return order, xp.where(first, sorted_keys, spare)


class HoiEnv:
    def __init__(
        self, clips: Sequence[MotionClip], cfg: EnvConfig = EnvConfig(), backend=None,
        on_device: bool = False,
    ):  # fmt: skip
        """``on_device``: with the warp backend, compute in torch on the simulation's
        device (the training stages) rather than in numpy on the host."""
        self.cfg = cfg
        dt = cfg.physics.timestep
        self.decimation = round(1.0 / (cfg.control_hz * dt))
        if abs(self.decimation * dt * cfg.control_hz - 1.0) > 1e-6:
            raise ValueError("control period must be a whole number of physics steps")
        if cfg.physics.pd != "continuous":
            raise ValueError(f"physics.pd {cfg.physics.pd!r}: the batched simulations run the "
                             "continuous PD law only")  # fmt: skip
        self.refs = ReferenceMotions(clips, cfg.control_hz)
        self.object = self.refs.object
        self.model = build_scene([self.object], gains=cfg.gains, options=cfg.physics).compile()
        self.backend: PhysicsBackend = backend or make_backend(
            cfg.backend, self.model, cfg.num_envs, cfg.num_threads, cfg.device, on_device
        )
        self.n = cfg.num_envs
        self._qpos = self.backend.field("qpos")
        self._qvel = self.backend.field("qvel")
        self._ctrl = self.backend.field("ctrl")
        # the arrays' namespace, float dtype and device: numpy float64, or the simulation's
        xp = self.xp = namespace(self._qpos)
        dev = device(self._qpos)
        self.refs = self.refs.like(self._qpos)
        self.index = StateIndex(self.model, self.object.name)
        self._joint_q = constant(self.index.joint_q, self._qpos)
        self._joint_v = constant(self.index.joint_v, self._qpos)
        self.planes = [like(p, self._qpos) for p in convex_planes(self.object)]
        self.probe = (PenetrationProbe(self.model, self.object.name) if xp is np
                      else WarpProbe(self.backend, self.object.name))  # fmt: skip
        if cfg.action_base not in ACTION_BASES:
            raise ValueError(f"action_base {cfg.action_base!r}; known: {ACTION_BASES}")
        self.action_scale = like(joint_scale(cfg.action_scale, g1.gains(cfg.gains)[0]), self._qpos)
        self._default_pos = like(g1.DEFAULT_POS, self._qpos)
        self.max_steps = int(cfg.episode_seconds * cfg.control_hz)
        self.rng = make_random(cfg.seed, self._qpos)

        def zeros(shape, dtype=xp.int64):
            return xp.zeros(shape, dtype=dtype, device=dev)

        self.clip, self.frame, self.steps = zeros(self.n), zeros(self.n), zeros(self.n)
        self.lost = zeros((self.n, 2))
        self.last_action = zeros((self.n, g1.NUM_JOINTS), self._qpos.dtype)
        rc = cfg.randomization
        self.randomizer = (
            ModelRandomizer(self.backend, self.model, self.object.name, rc)
            if rc.enabled and rc.model
            else None
        )
        self.latency = zeros(self.n)  # physics substeps (randomization)
        self._substeps = xp.arange(self.decimation, device=dev)
        self.max_latency = (min(round(rc.max_latency_s / dt), self.decimation)
                            if rc.enabled else 0)  # fmt: skip
        most = round(rc.tracker_latency_s * cfg.control_hz)
        noisy = rc.tracker_noise > 0
        self.tracker = None
        if rc.enabled and (most or noisy):
            rng = self.rng if noisy else None
            self.tracker = TrackerDelay(self.n, most, cfg.control_hz, rc.tracker_pelvis,
                                        like=self._qpos, rng=rng)  # fmt: skip
        self.prev_target = xp.asarray(xp.broadcast_to(self._default_pos, (self.n, g1.NUM_JOINTS)),
                                      copy=True)  # fmt: skip
        self.next_push = xp.full(self.n, xp.inf, dtype=self._qpos.dtype, device=dev)
        # one row per reference frame, and a last one where the states not kept are written
        # (no data-dependent shapes: nothing waits for the device); empty slots hold the
        # model's reference pose, a configuration the start check can probe
        rows = int(self.refs.lengths.sum()) + 1
        shape = (rows, cfg.psi_size, self.model.nq)
        self.psi_qpos = xp.asarray(xp.broadcast_to(like(self.model.qpos0, self._qpos), shape),
                                   copy=True)  # fmt: skip
        self.psi_qvel = zeros((rows, cfg.psi_size, self.model.nv), self._qpos.dtype)
        self.psi_count = zeros(rows)
        self.reset(xp.arange(self.n, device=dev))

    # Reset: reference state initialization ---------------------------------------------

    def reset(self, ids: np.ndarray) -> None:
        """Reference state initialization: a random clip at a random frame."""
        if len(ids) == 0:
            return
        self.reset_to(ids, *self.draw_frames(len(ids)))

    def draw_frames(self, k: int):
        """(clip, frame) of ``k`` starts: random clips at random frames."""
        clip = self.rng.integers(0, self.refs.num_clips, k)
        frame = self.rng.random(k) * (self.refs.lengths[clip] - 1)
        return clip, self.xp.astype(frame, self.xp.int64)

    def reset_to(self, ids: np.ndarray, clip: np.ndarray, frame: np.ndarray) -> None:
        """Start simulations ``ids`` at the given reference clips and frames (or at a
        stored physical state of that frame, see PSI), with fresh randomization."""
        self.backend.reset(ids)
        self.clip[ids], self.frame[ids] = clip, frame
        self.steps[ids] = 0
        self.lost[ids] = 0
        self.last_action[ids] = 0.0
        rc = self.cfg.randomization
        if self.randomizer is not None:
            self.randomizer.apply(ids, self.rng)
        if rc.enabled:
            self.latency[ids] = self.rng.integers(0, self.max_latency + 1, len(ids))
            if self.tracker is not None:
                steps = self.rng.integers(0, self.tracker.most_steps + 1, len(ids))
                noise = self.rng.uniform(0.0, rc.tracker_noise, len(ids))
                self.tracker.restart(ids, steps, noise)
            self.next_push[ids] = (
                self.rng.uniform(*rc.push_interval_s, len(ids)) * self.cfg.control_hz
            )
        ref, contact = self.refs.state(clip, frame)
        self.prev_target[ids] = ref.joint_pos
        self.write_state(ids, ref, flush=False)
        if self.cfg.psi_prob > 0:
            self._physical_state(ids, self.refs.index(clip, frame))
        if rc.enabled and self._start_shifts():
            self.shift_starts(ids[~self.xp.any(contact[:, :2] > 0.5, axis=1)])
        if rc.enabled:
            self.perturb_joints(ids, rc.joint_pos_noise)
            self._qvel[ids[:, None], self._joint_v] += self.rng.normal(
                scale=rc.joint_vel_noise, size=(len(ids), 29)
            )
        if self.cfg.start_joint_noise > 0:
            self.perturb_joints(ids, self.cfg.start_joint_noise)
        self.backend.forward(ids)

    def _physical_state(self, ids, rows) -> None:
        """PSI: with probability ``psi_prob``, start from one of the simulated states kept
        for the frame, unless it penetrates (then the reference state stays)."""
        xp, c = self.xp, self.cfg
        count = self.psi_count[rows]
        slot = self.rng.integers(0, xp.clip(count, min=1, max=c.psi_size), len(ids))
        qpos, qvel = self.psi_qpos[rows, slot], self.psi_qvel[rows, slot]
        use = ((count > 0) & (self.rng.random(len(ids)) < c.psi_prob)
               & self._fits(self.probe.depths(qpos)))[:, None]  # fmt: skip
        self._qpos[ids] = xp.where(use, qpos, self._qpos[ids])
        self._qvel[ids] = xp.where(use, qvel, self._qvel[ids])

    def _start_shifts(self) -> list[tuple[int, float, float]]:
        """(qpos address, offset, yaw) of each free body a start moves: the object
        (``object_start_*``) and the robot (``robot_start_*``), where drawn."""
        rc, ix = self.cfg.randomization, self.index
        moves = [(ix.obj_q, rc.object_start_offset, rc.object_start_yaw),
                 (ix.root_q, rc.robot_start_offset, rc.robot_start_yaw)]  # fmt: skip
        return [m for m in moves if m[1] > 0 or m[2] > 0]

    def shift_starts(self, ids: np.ndarray) -> None:
        """Move the object and the robot of simulations ``ids`` by drawn horizontal
        offsets and turn each about the vertical through its origin (``_start_shifts``)."""
        up = like(np.array([0.0, 0.0, 1.0]), self._qpos)
        moves = self._start_shifts()

        def shift(qpos, which):
            qpos, k = self.xp.asarray(qpos, copy=True), qpos.shape[0]
            for a, offset, turned in moves:
                qpos[:, a : a + 2] += self.rng.uniform(-1, 1, (k, 2)) * offset
                yaw = self.rng.uniform(-1, 1, k) * turned
                turn = quat.from_axis_angle(self.xp.broadcast_to(up, (k, 3)), yaw)
                qpos[:, a + 3 : a + 7] = quat.multiply(turn, qpos[:, a + 3 : a + 7])
            return qpos

        self.physical_start(ids, shift)

    def perturb_joints(self, ids: np.ndarray, scale, rng=None) -> None:
        """Add Gaussian noise (rad; ``scale`` one for all or one per simulation) to the
        joint angles of simulations ``ids``, a physical start (``physical_start``; the
        caller runs ``backend.forward``); ``rng`` defaults to the environment's."""
        rng = self.rng if rng is None else rng
        one = isinstance(scale, int | float)
        if one and scale <= 0:
            return
        if not one and tuple(scale.shape) != (len(ids),):
            raise ValueError(f"noise scales {tuple(scale.shape)} for {len(ids)} simulations")

        def noise(qpos, which):
            qpos = self.xp.asarray(qpos, copy=True)
            sigma = scale if one else scale[which][:, None]
            qpos[:, self._joint_q] += sigma * rng.normal(size=(qpos.shape[0], g1.NUM_JOINTS))
            return qpos

        self.physical_start(ids, noise)

    def physical_start(self, ids: np.ndarray, perturb) -> None:
        """Move simulations ``ids`` to a perturbed state, ``perturb(qpos, which)``: (M, nq)
        states of simulations ``ids[which]`` -> a perturbed copy (independent draws per
        row). ``start_tries`` draws are made for each simulation and the first that does
        not push it into the object or into itself deeper than before plus the tolerances
        is kept (where none is, the unperturbed state stays); then each robot is lifted
        out of the floor. All draws are checked at once: the device is never waited for."""
        if not len(ids):
            return
        xp, tries, k = self.xp, self.cfg.start_tries, len(ids)
        before = self._qpos[ids]
        start = self.probe.depths(before)
        rows = xp.arange(k, device=device(ids))
        which = xp.concat([rows] * tries)
        drawn = perturb(xp.concat([before] * tries), which)
        drawn_depths = Depths(*(xp.reshape(d, (tries, k)) for d in self.probe.depths(drawn)))
        fits = self._fits(drawn_depths, start)
        first = xp.argmax(xp.astype(fits, xp.int32), axis=0)  # the first draw that fits
        chosen = xp.reshape(drawn, (tries, k, -1))[first, rows]
        qpos = xp.where(xp.any(fits, axis=0)[:, None], chosen, before)
        qpos[:, self.index.root_q + 2] += self.probe.depths(qpos).floor
        self._qpos[ids] = qpos

    def _fits(self, depths: Depths, before: Depths | None = None):
        """Whether starts go no deeper into the object and into themselves than ``before``
        (none: not at all) plus the start tolerances."""
        c = self.cfg
        obj, robot = (0.0, 0.0) if before is None else (before.object, before.robot)
        return ((depths.object <= obj + c.start_object_tolerance)
                & (depths.robot <= robot + c.start_self_tolerance))  # fmt: skip

    def _remember(self, state, ref) -> None:
        """PSI: keep the simulated states of well-tracked frames."""
        tol = self.cfg.psi_tolerance
        good = (body_error(state, ref) < tol) & (
            self.xp.linalg.vector_norm(state.object_pos - ref.object_pos, axis=1) < tol
        )
        spare = len(self.psi_count) - 1
        rows = self.xp.where(good, self.refs.index(self.clip, self.frame), spare)
        ids, rows = _first_of_each(rows, spare, self.xp)  # one state per frame per step
        slot = self.psi_count[rows] % self.cfg.psi_size
        self.psi_qpos[rows, slot] = self._qpos[ids]
        self.psi_qvel[rows, slot] = self._qvel[ids]
        self.psi_count[rows] += 1

    def _push(self) -> None:
        """Random velocity impulses on the pelvis and the object."""
        rc = self.cfg.randomization
        xp, ix, n = self.xp, self.index, self.n
        self.next_push -= 1
        due = self.next_push <= 0
        kick = xp.astype(due, self._qvel.dtype)[:, None]
        self._qvel[:, ix.root_v : ix.root_v + 2] += (
            kick * self.rng.uniform(-1, 1, (n, 2)) * rc.push_robot_velocity
        )
        self._qvel[:, ix.obj_v : ix.obj_v + 2] += (
            kick * self.rng.uniform(-1, 1, (n, 2)) * rc.push_object_velocity
        )
        later = self.rng.uniform(*rc.push_interval_s, n) * self.cfg.control_hz
        self.next_push = xp.where(due, later, self.next_push)

    def write_state(self, ids: np.ndarray, ref, flush: bool = True) -> None:
        """Set simulations ``ids`` to a (reference) state; ``flush`` recomputes kinematics."""
        q, v = self._qpos[ids], self._qvel[ids]
        self.index.write(q, v, ref)
        self._qpos[ids], self._qvel[ids] = q, v
        self._ctrl[ids] = ref.joint_pos
        if flush:
            self.backend.forward(ids)

    def interface(self) -> PolicyInterface:
        """What a policy trained here expects of whoever runs it (its file's metadata)."""
        c = self.cfg
        kp, kd = g1.gains(c.gains)
        return PolicyInterface(
            kp=kp, kd=kd, action_scale=self.action_scale, control_hz=c.control_hz,
            action_clip=c.action_clip, future_offsets=tuple(c.future_offsets),
            object=self.object, action_base=c.action_base, gain_profile=c.gains,
        )  # fmt: skip

    # Stepping -------------------------------------------------------------------------

    def observation(self, state=None, distances=None, sensed: bool = True):
        """Observations of the current state (pass ``state``/``distances`` if already
        read) as the robot senses it, or with ``sensed`` False of the true state (the
        privileged critic's, ``training.privileged``)."""
        if state is None:
            state = self.index.from_backend(self.backend)
        if sensed:
            state = self.measured(state)
        future = self.refs.future(self.clip, self.frame, self.cfg.future_offsets)
        inputs = ObsInputs(state, self.last_action, future, self.planes, distances)
        return build_observation(inputs)

    def measured(self, state):
        """``state`` as the robot's sensors, tracker and leg odometry report it (the
        tracker keeps a history: once per control step)."""
        if self.tracker is not None:  # where a late tracker reports the tracked bodies
            state = self.tracker.observe(state)
        rc = self.cfg.randomization
        if rc.enabled and rc.leg_odometry and not rc.tracker_pelvis:
            state = replace(state, root_lin_vel=pelvis_velocity_of(state))
        if rc.enabled:  # what the robot's sensors would report
            state = rc.sensor_noise.measure(state, self.rng)
        return state

    def step_info(self, state) -> dict[str, np.ndarray]:
        """Task-specific step data for ``step``'s info, read before the terminations
        and resets (tasks built on this env add theirs)."""
        return {}

    def terminations(self, state, ref) -> dict[str, np.ndarray]:
        """Early-termination causes, (N,) booleans each (tasks built on this env add or
        mask causes)."""
        return T.tracking_causes(state, ref, self.lost, self.cfg.terminations)

    def action_base(self):
        """(N, 29) the pose actions are offsets from this step (``cfg.action_base``)."""
        if self.cfg.action_base == "reference":
            return self.refs.state(self.clip, self.frame + 1)[0].joint_pos
        return self.xp.broadcast_to(self._default_pos, (self.n, g1.NUM_JOINTS))

    def _actuate(self, target: np.ndarray) -> None:
        """One control period of physics: each simulation's new targets, inside the safe
        range, reach its motors after its latency (in substeps; the previous targets act
        until then), each substep's no farther from the last than the node lets them
        move (``contract.actions``)."""
        target = safe_targets(target)
        goal = (self._substeps[:, None] < self.latency)[..., None]  # (substep, sim, 1)
        goal = self.xp.where(goal, self.prev_target, target)
        ctrl, controls = self._ctrl, []
        for k in range(self.decimation):
            ctrl = ramped(goal[k], ctrl, self.cfg.physics.timestep)
            controls.append(ctrl)
        self.backend.step(self.decimation, self.xp.stack(controls))
        self.prev_target = target

    def step(self, action):
        """Apply (N, 29) actions for one control period. Returns (obs, reward, terminated,
        truncated, info); finished simulations are reset and their obs are the new ones.
        Arrays of the environment's namespace (numpy, or tensors on its device)."""
        action = clip_action(like(action, self._qpos), self.cfg.action_clip)
        if tuple(action.shape) != (self.n, g1.NUM_JOINTS):
            raise ValueError(f"action shape {action.shape}, expected ({self.n}, {g1.NUM_JOINTS})")
        target = joint_targets(action, self.action_base(), self.action_scale)
        if self.cfg.randomization.enabled:
            self._push()
        self._actuate(target)
        self.last_action = action
        self.frame += 1
        self.steps += 1
        state = self.index.from_backend(self.backend)
        ref, contact = self.refs.state(self.clip, self.frame)
        dist, normal = body_object_distance(state, self.planes)
        touching = T.hands_touching(dist)
        self.lost = T.count_contact_lost(self.lost, touching, contact)

        c = self.cfg.rewards
        ref_dist, _ = body_object_distance(ref, self.planes)
        terms = {
            "body_pos": R.body_pos_tracking(state, ref, c.sigma_body_pos),
            "body_rot": R.body_rot_tracking(state, ref, c.sigma_body_rot),
            "body_vel": R.body_vel_tracking(state, ref, c.sigma_body_vel),
            "object_pos": R.object_pos_tracking(state, ref, c.sigma_object_pos),
            "object_rot": R.object_rot_tracking(state, ref, c.sigma_object_rot),
            "contact": R.contact_tracking(touching, contact),
            "grasp": R.grasp(state, contact, dist, normal),
            "energy": R.energy(self.backend.field("actuator_force"), state.joint_vel),
            "foot_slip": R.foot_slip(state, contact),
            "hand_object": R.hand_object(state, ref, ref_dist, c.sigma_hand_object),
            "torso_clearance": R.torso_clearance(state, ref, self.planes),
            "joint_limits": R.joint_limits(state, ref),
        }
        extra = self.step_info(state)
        causes = self.terminations(state, ref)
        terminated = functools.reduce(self.xp.logical_or, causes.values())
        clip_end = self.frame >= self.refs.lengths[self.clip] - 1
        truncated = ~terminated & ((self.steps >= self.max_steps) | clip_end)
        reward = sum(getattr(c, k) * v for k, v in terms.items()) + c.termination * terminated
        if self.cfg.psi_prob > 0:
            self._remember(state, ref)
        done = self.xp.nonzero(terminated | truncated)[0]  # a host sync: which to reset
        info = {
            "terms": terms,
            "causes": causes,
            "clip_end": clip_end,
            "state": state,  # before the resets below
            "reference": ref,
            "reset_ids": done,  # the simulations reset at the end of this step
            **extra,
        }
        self.reset(done)
        if len(done):  # reset simulations changed state: read it again
            return self.observation(), reward, terminated, truncated, info
        return self.observation(state, (dist, normal)), reward, terminated, truncated, info
