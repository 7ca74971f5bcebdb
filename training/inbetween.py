"""The in-betweening task of Stage 3 (InterPrior's RL fine-tuning) and its get-up skill.

Simulations start from random initial configurations: a dataset state (random clip and
frame) with the robot shifted and turned off it (``start_offset_*``), with probability
``perturbed_prob`` also with strongly perturbed joints and a root velocity kick, and
with probability ``fallen_prob`` lying on the floor (a state from a bank of simulated
falls, made once at start-up from the dataset's own frames). The goal is one dataset
frame 0.5-2 s ahead under a random mask (``inbetween_masks``: the snapshot token only);
reaching its masked features within ``success_distance`` (xi) by its time earns the
sparse success reward, then the next goal follows (a chain within the episode).

Get-up: a fallen start turns the prior's learnable task token on; the fall termination
is off for it until it stands (``contract.terminations.GetupConfig``), then the token
goes off and the goals apply; not standing within its ``seconds`` ends the episode.
Only falls (of standing robots) and timeouts end episodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from array_api_compat import device

from common.array_namespace import constant, namespace, readonly
from contract.goals.features import POSITIONS
from contract.goals.masks import NUM_TOKENS, component_mask, sample_masks
from contract.observations import UP
from contract.terminations import GetupConfig, standing, tracking_causes, with_getup
from robots import quat
from robots.clip import MotionClip
from training.env import EnvConfig, HoiEnv


@dataclass(frozen=True)
class InbetweenConfig:
    success_distance: float = 0.15  # xi, m: masked position-feature distance
    start_offset_xy: float = 0.15  # m: the robot's start shifted off the dataset state
    start_offset_yaw: float = 0.3  # rad
    perturbed_prob: float = 0.3
    perturbed_joint_noise: float = 0.3  # rad
    perturbed_root_velocity: float = 0.5  # m/s
    fallen_prob: float = 0.2
    fallen_states: int = 64  # simulated falls in the bank
    getup: GetupConfig = field(default_factory=GetupConfig)


_BODY_POS = readonly(component_mask(("body_pos",)))


def inbetween_masks(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, NUM_TOKENS, GOAL_DIM) masks of single-frame goals: a training mask's snapshot
    token alone (preview tokens hidden); a snapshot without any position feature gets
    the key-body positions, so that success is measurable. Arrays of ``rng``'s kind."""
    masks = sample_masks(rng, n)
    xp = namespace(masks)
    masks[:, : NUM_TOKENS - 1] = False
    blind = ~xp.any(masks[:, -1, constant(POSITIONS, masks)], axis=1)
    masks[:, -1] |= blind[:, None] & constant(_BODY_POS, masks)
    return masks


class InbetweenEnv(HoiEnv):
    """:class:`HoiEnv` with in-betweening starts, the get-up flag and falls as the only
    early termination (the reference only supplies goals and object poses here)."""

    def __init__(self, clips: Sequence[MotionClip], cfg: EnvConfig, task: InbetweenConfig,
                 on_device: bool = False):  # fmt: skip
        if not 0.0 <= task.fallen_prob <= 1.0:
            raise ValueError(f"fallen_prob {task.fallen_prob} is outside 0 ... 1")
        self.task = task
        # since the owner last cleared them (0-d arrays where the environment computes)
        self.counts = {"fallen_starts": 0, "stood_up": 0}
        self.fallen_bank: dict[str, np.ndarray] | None = None
        super().__init__(clips, cfg, on_device=on_device)  # plain dataset starts
        xp, dev = self.xp, device(self.frame)
        self.getup = xp.zeros(self.n, dtype=xp.bool, device=dev)
        self.getup_steps = xp.zeros(self.n, dtype=xp.int64, device=dev)
        self.pelvis = self.model.body("pelvis").id
        # Without fallen starts no bank is needed (an empty one: no longer building).
        self.fallen_bank = self._simulate_falls(task.fallen_states) if task.fallen_prob else {}
        self.reset(xp.arange(self.n, device=dev))

    def _simulate_falls(self, count: int) -> dict[str, np.ndarray]:
        """States of robots that toppled from dataset frames: tilted 70-90 degrees about
        a random horizontal axis, then 1.5 s of physics holding their joint targets.
        Frames leave the get-up time of clip after them where the clip is that long."""
        out: dict[str, list] = {"qpos": [], "qvel": [], "clip": [], "frame": []}
        xp, ix = self.xp, self.index
        ids = xp.arange(self.n, device=device(self.frame))
        getup = round(self.task.getup.seconds * self.cfg.control_hz)
        while sum(map(len, out["clip"])) < count:
            clip = self.rng.integers(0, self.refs.num_clips, self.n)
            room = xp.clip(self.refs.lengths[clip] - getup - 1, min=1)
            self.reset_to(ids, clip, xp.astype(self.rng.random(self.n) * room, xp.int64))
            axis_angle = self.rng.uniform(0, 2 * np.pi, self.n)
            axis = xp.stack([xp.cos(axis_angle), xp.sin(axis_angle), xp.zeros_like(axis_angle)],
                            axis=1)  # fmt: skip
            tilt = quat.from_axis_angle(axis, self.rng.uniform(1.2, 1.6, self.n))
            root = self._qpos[:, ix.root_q + 3 : ix.root_q + 7]
            self._qpos[:, ix.root_q + 3 : ix.root_q + 7] = quat.multiply(tilt, root)
            self._qpos[:, ix.root_q + 2] = 0.5
            self._qvel[:, ix.root_v : ix.root_v + 6] = 0.0
            self._ctrl[:] = self._qpos[:, self._joint_q]
            self.backend.forward(ids)
            self.backend.step(round(1.5 * self.cfg.control_hz) * self.decimation)
            for k, a in (("qpos", self._qpos), ("qvel", self._qvel), ("clip", self.clip),
                         ("frame", self.frame)):  # fmt: skip
                out[k].append(xp.asarray(a, copy=True))
        return {k: xp.concat(v)[:count] for k, v in out.items()}

    def reset(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        if self.fallen_bank is None:  # still building the bank: plain dataset starts
            super().reset(ids)
            return
        # Every draw is made for all of ``ids`` and kept where it applies (fixed shapes:
        # nothing waits for the device).
        t, rng, xp, bank = self.task, self.rng, self.xp, self.fallen_bank
        k = len(ids)
        fallen = rng.random(k) < t.fallen_prob
        clip, frame = self.draw_frames(k)
        if bank:
            pick = rng.integers(0, len(bank["clip"]), k)
            clip = xp.where(fallen, bank["clip"][pick], clip)
            frame = xp.where(fallen, bank["frame"][pick], frame)
        self.reset_to(ids, clip, frame)
        self.random_starts(ids)
        if bank:
            lying, qpos = fallen[:, None], bank["qpos"][pick]
            self._qpos[ids] = xp.where(lying, qpos, self._qpos[ids])
            self._qvel[ids] = xp.where(lying, bank["qvel"][pick], self._qvel[ids])
            self._ctrl[ids] = xp.where(lying, qpos[:, self._joint_q], self._ctrl[ids])
        self.getup[ids] = fallen
        self.counts["fallen_starts"] += xp.sum(xp.astype(fallen, xp.int64))
        self.getup_steps[ids] = 0
        self.backend.forward(ids)

    def random_starts(self, ids: np.ndarray) -> None:
        """Move simulations ``ids`` from their dataset states to random initial
        configurations: shifted and turned off the data, with ``perturbed_prob`` also
        perturbed joints and a root velocity kick; physical starts (the caller runs
        ``backend.forward``)."""
        t, ix, xp = self.task, self.index, self.xp
        self.physical_start(ids, self._offset)
        perturbed = xp.astype(self.rng.random(len(ids)) < t.perturbed_prob, self._qpos.dtype)
        self.perturb_joints(ids, perturbed * t.perturbed_joint_noise)
        self._qvel[ids, ix.root_v : ix.root_v + 2] += (
            perturbed[:, None] * self.rng.uniform(-1, 1, (len(ids), 2)) * t.perturbed_root_velocity
        )

    def _offset(self, qpos, which):
        """``qpos`` with the robot (not the object) shifted and turned off its dataset
        state (through ``physical_start``: not into the object)."""
        t, ix = self.task, self.index
        qpos = self.xp.asarray(qpos, copy=True)
        k = qpos.shape[0]
        qpos[:, ix.root_q : ix.root_q + 2] += self.rng.uniform(-1, 1, (k, 2)) * t.start_offset_xy
        yaw = quat.from_axis_angle(
            constant(UP, self._qpos), self.rng.uniform(-1, 1, k) * t.start_offset_yaw
        )
        root = qpos[:, ix.root_q + 3 : ix.root_q + 7]
        qpos[:, ix.root_q + 3 : ix.root_q + 7] = quat.multiply(yaw, root)
        return qpos

    def step_info(self, state) -> dict[str, np.ndarray]:
        """The get-up flags during the step (before standing turns them off) and the
        robot's centre of mass (N, 3): what the Stage 3 rewards read."""
        copy = self.xp.asarray
        return {
            "getup": copy(self.getup, copy=True),
            "robot_com": copy(self.backend.field("subtree_com")[:, self.pelvis], copy=True),
        }

    def terminations(self, state, ref) -> dict[str, np.ndarray]:
        """Falls of standing robots and get-up timeouts (the reference only supplies
        goals here); the get-up flags turn off for robots that stand."""
        was_getup = self.xp.asarray(self.getup, copy=True)
        self.getup &= ~standing(state, self.task.getup)
        self.counts["stood_up"] += self.xp.sum(was_getup & ~self.getup)
        self.getup_steps += self.getup
        causes = tracking_causes(state, ref, self.lost, self.cfg.terminations.falls_only())
        limit = self.task.getup.seconds * self.cfg.control_hz
        return with_getup(causes, self.getup, self.getup_steps, limit)
