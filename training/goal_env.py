"""An environment with the goal command of its simulations (``contract.goals.command``):
how the Stage 2 and 3 rollouts and the evaluator drive goals, one protocol."""

from __future__ import annotations

from array_api_compat import device

from contract.goals.command import GoalCommand
from contract.observations import proprioception
from training.env import HoiEnv


class GoalEnv:
    """``env`` (a ``HoiEnv``) and ``command``: ``inputs`` are the goal inputs of the
    current state, ``step`` steps the environment and moves the goals on. ``restart``:
    the simulations the environment resets start fresh goals (training); without it
    each simulation is one attempt whose goals end with it (evaluation)."""

    def __init__(self, env: HoiEnv, command: GoalCommand, restart: bool = True):
        self.env, self.command, self.restart = env, command, restart
        self.obs = env.observation()
        everyone = env.xp.arange(env.n, device=device(env.last_action))
        command.reset(everyone, env.frame, self.last(), proprioception(self.obs))

    def last(self):
        """Each simulation's clip's last frame."""
        return self.env.refs.lengths[self.env.clip] - 1

    def inputs(self, state=None):
        """(tokens, visible, full residuals) of the goals from ``state`` (default: the
        simulations' state now)."""
        env = self.env
        state = env.index.from_backend(env.backend) if state is None else state
        return self.command.tokens(state, env.refs, env.clip, env.frame)

    def step(self, action):
        """One control step; the goals move on, fresh ones where an episode restarted."""
        env = self.env
        self.obs, reward, terminated, truncated, info = env.step(action)
        proprio = proprioception(self.obs)
        self.command.advance(env.frame, self.last(), proprio)
        if self.restart:
            ids = info["reset_ids"]
            self.command.reset(ids, env.frame[ids], self.last()[ids], proprio)
        return self.obs, reward, terminated, truncated, info
