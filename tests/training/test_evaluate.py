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
