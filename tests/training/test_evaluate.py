"""The shared attempt loop of ``training play`` and ``training eval``."""

import numpy as np
import pytest

from contract.goals.tokens import GoalConfig
from training.env import EnvConfig, HoiEnv
from training.evaluate import attempts
from training.randomization import RandomizationConfig


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_action_noise_is_added_to_every_executed_action(clip, noise):
    cfg = EnvConfig(num_envs=4, num_threads=1, psi_prob=0.0, episode_seconds=0.2,
                    randomization=RandomizationConfig(enabled=False))  # fmt: skip
    env = HoiEnv([clip], cfg)
    executed, step = [], env.step

    def record(action):
        executed.append(np.array(action))
        return step(action)

    env.step = record
    report = attempts(env, 1, "full", GoalConfig(), lambda obs: np.zeros((len(obs), 29)),
                      action_noise=noise)  # fmt: skip
    assert report["attempts"] == 4 and len(executed) == 10  # 0.2 s at 50 Hz
    assert np.std(executed) == pytest.approx(noise, abs=0.05)
    again = []
    env.step = lambda action: (again.append(np.array(action)), step(action))[1]
    attempts(env, 1, "full", GoalConfig(), lambda obs: np.zeros((len(obs), 29)),
             action_noise=noise)  # fmt: skip
    np.testing.assert_array_equal(again, executed)  # the same draws for every actor
    with pytest.raises(ValueError, match=r"action_noise -1\.0: a standard"):
        attempts(env, 1, "full", GoalConfig(), None, action_noise=-1.0)


def test_expert_action_error_is_measured_on_the_actors_own_states(clip):
    cfg = EnvConfig(num_envs=3, num_threads=1, psi_prob=0.0, episode_seconds=0.1,
                    randomization=RandomizationConfig(enabled=False))  # fmt: skip
    env = HoiEnv([clip], cfg)

    def actor(obs):
        return np.full((len(obs), 29), 0.2)

    def offset(obs):
        return actor(obs) - 0.5

    same = attempts(env, 1, "full", GoalConfig(), actor, action_noise=0.3, labeller=actor)
    off = attempts(env, 1, "full", GoalConfig(), actor, action_noise=0.3, labeller=offset)
    assert same["expert_action_error"] == 0.0  # taken before the noise
    assert off["expert_action_error"] == pytest.approx(29 * 0.5**2)
    assert "expert_action_error" not in attempts(env, 1, "full", GoalConfig(), actor)
