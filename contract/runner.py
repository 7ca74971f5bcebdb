"""The policy runner: one control step of an exported policy against one reference clip,
as sim2sim and the robot node both run it: goals, observation, inference, action to
joint targets. numpy + onnxruntime only.

A step is split so that a real-time caller can spread it over several command cycles
(``deploy/g1_node.py``): ``inputs`` (observation and goal tokens from a robot state),
``infer`` (the network's raw output), ``advance`` (clipped action, reference clock,
joint targets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.actions import clip_action
from contract.goals.chain import ChainGoal
from contract.goals.command import GoalCommand
from contract.goals.masks import PATTERNS, pattern_mask
from contract.goals.tokens import GoalConfig
from contract.observations import ObsInputs, build_observation, proprioception
from contract.policy import Policy
from contract.policy_file import object_error
from contract.reference import ONLY_CLIP, ReferenceMotions
from contract.state import HoiState
from contract.terminations import GetupConfig, TerminationConfig, fallen, standing
from robots import g1
from robots.clip import MotionClip
from robots.objects import convex_planes


@dataclass
class PolicyInputs:
    """What the network reads this step: the observation and, for a Stage 2/3 policy,
    its goal inputs (history, tokens, visible, noise, task flags)."""

    obs: np.ndarray
    goals: tuple | None = None


class PolicyRunner:
    """``pattern``: the goal mask of a Stage 2/3 policy (``contract.goals.masks``);
    ``sample``: a latent drawn from ``rng`` per episode instead of the mean; ``getup``: a
    Stage 3 policy's get-up token turns on when the robot falls and off once it stands
    (the training task's thresholds)."""

    def __init__(
        self, policy: Policy, clip: MotionClip, rng: np.random.Generator,
        pattern: str = "full", sample: bool = False, getup: bool = False,
    ):  # fmt: skip
        if error := object_error(policy, clip.object):  # before any physics or command
            raise ValueError(error)
        self.policy, self.rng, self.sample = policy, rng, sample
        self.refs = ReferenceMotions([clip], policy.control_hz)
        self.planes = convex_planes(clip.object)
        self.last = int(self.refs.lengths[0] - 1)
        self.goals: GoalCommand | None = None
        if policy.goals is not None:
            pattern_mask(pattern)  # an unknown pattern fails here, before any physics
            layout = policy.goals
            cfg = GoalConfig(history=layout.history, snapshot_steps=layout.snapshot_steps)
            self.goals = GoalCommand(1, cfg, policy.control_hz, rng, pattern=pattern)
        self.can_getup = bool(getup and policy.goals and "getup" in policy.goals.tasks)
        self.getup_cfg, self.falls = GetupConfig(), TerminationConfig()
        self.reset()

    def reset(self, frame: float = 0.0, state: HoiState | None = None) -> None:
        """A new episode at reference ``frame``; a Stage 2/3 policy's goals start from
        ``state`` now, or from the first state ``inputs`` sees."""
        self.frame = float(frame)
        self.last_action = np.zeros((1, g1.NUM_JOINTS))
        self.getup = False
        self.fresh = True
        if self.goals is not None:
            self.goals.clear()
            if state is not None:
                self._start_goals(self.observation(state))

    def reference(self, frame: float | None = None):
        """Reference (state, contacts) at ``frame`` (default: the current frame)."""
        return self.refs.state(ONLY_CLIP, np.array([int(self.frame if frame is None else frame)]))

    def observation(self, state: HoiState) -> np.ndarray:
        """(1, D) observation of ``state`` at the current frame; changes nothing."""
        future = self.refs.future(
            ONLY_CLIP, np.array([int(self.frame)]), self.policy.future_offsets
        )
        return build_observation(ObsInputs(state, self.last_action, future, self.planes))

    def _start_goals(self, obs: np.ndarray) -> None:
        """The episode's latent draw (zero: the mean) and fresh goals."""
        latent = self.policy.goals.latent_dim
        self.noise = (self.rng.normal(size=(1, latent)) if self.sample
                      else np.zeros((1, latent)))  # fmt: skip
        frame = np.array([int(self.frame)])
        self.goals.reset(ONLY_CLIP, frame, np.array([self.last]), proprioception(obs))
        self.fresh = False

    def inputs(self, state: HoiState) -> PolicyInputs:
        """This step's network inputs from the robot ``state``; moves the goals on (the
        snapshot moves ahead once reached unless pinned) and sets the get-up token."""
        obs = self.observation(state)
        if self.goals is None:
            return PolicyInputs(obs)
        g, frame = self.goals, np.array([int(self.frame)])
        if self.fresh:
            self._start_goals(obs)
        else:
            g.advance(frame, np.array([self.last]), proprioception(obs))
        tokens, visible, _ = g.tokens(state, self.refs, ONLY_CLIP, frame)
        task = None
        if self.can_getup:
            if fallen(state, self.falls)[0]:
                self.getup = True
            elif standing(state, self.getup_cfg)[0]:
                self.getup = False
            task = np.zeros((1, len(self.policy.goals.tasks)))
            task[0, self.policy.goals.tasks.index("getup")] = float(self.getup)
        return PolicyInputs(obs, (g.history, tokens, visible, self.noise, task))

    def infer(self, inputs: PolicyInputs) -> np.ndarray:
        """(1, 29) raw network output, before the action clip."""
        if inputs.goals is None:
            return self.policy.raw(inputs.obs)
        return self.policy.raw_goals(*inputs.goals)

    # Goal commands (Stage 2/3 policies): the reference clock follows the goal --------------

    def _aim(self, frame: int, seconds: float) -> None:
        self.frame = float(max(frame - seconds * self.policy.control_hz, 0))

    def start_goal(self, goal: ChainGoal) -> None:
        """Switch to ``goal`` now (mid-trajectory command switching)."""
        self._aim(self.goals.start(goal, self.last), goal.seconds)

    def queue_goal(self, goal: ChainGoal) -> None:
        """Append ``goal`` to the chain (started at once when no goal is active)."""
        frame = self.goals.queue_goal(goal, self.last)
        if frame is not None:
            self._aim(frame, goal.seconds)

    def goal_key(self, key: str, chain: bool = False) -> bool:
        """A goal key (the same in sim2sim's viewer and the node's terminal): ``1`` ...
        ``9`` the snapshot goal at 10 ... 90 % of the clip, in 1 s (now, or with ``chain``
        after the current goal); ``g`` the next goal pattern. Whether it was one."""
        if self.goals is None:
            return False
        if len(key) == 1 and "1" <= key <= "9":
            goal = ChainGoal(at=int(key) / 10)
            (self.queue_goal if chain else self.start_goal)(goal)
            return True
        if key == "g":
            names = list(PATTERNS)
            self.goals.switch(names[(names.index(self.goals.pattern) + 1) % len(names)])
            return True
        return False

    def follow_goals(self, state: HoiState) -> None:
        """After a control step: the clock stops at a pinned goal; a chain records the
        goal reached (its error seen from ``state``) and moves on after its hold."""
        if self.goals is None or not self.goals.pinned:
            return
        self.frame = min(self.frame, float(self.goals.snapshot[0]))
        frame = self.goals.chain_step(state, self.refs, ONLY_CLIP, self.frame, self.last)
        if frame is not None:
            self._aim(frame, self.goals.current.seconds)

    def advance(self, raw: np.ndarray, speed: float = 1.0) -> np.ndarray:
        """Clip the action, move the reference clock ``speed`` frames on (kept inside the
        clip) and return the joint targets (motor order) the action sets."""
        action = clip_action(raw, self.policy.action_clip)
        self.last_action = action
        self.frame = min(self.frame + speed, float(self.last))
        ahead = self.reference()[0].joint_pos[0]
        return self.policy.targets(action[0], ahead)
