"""The privileged critic: what it sees is read back from the simulation, and a critic
trained without it widens into it with its values unchanged."""

import numpy as np
import pytest
import torch

from contract.sensors import SensorNoise
from training.configs import Placement, PpoConfig, Saving, Stage1Config
from training.env import EnvConfig, HoiEnv
from training.privileged import EXTRAS, critic_observation, widen_critic
from training.randomization import RandomizationConfig
from training.stage1 import train

N = 4
TINY = dict(hidden_dims=(32, 32), steps_per_env=4, learning_epochs=1, mini_batches=1)


def extras(env):
    obs = env.observation()
    full = critic_observation(env, obs)
    d = obs.shape[1]
    assert full.shape == (N, 2 * d + len(EXTRAS))
    np.testing.assert_array_equal(full[:, :d], obs)  # the policy's part first
    return obs, full[:, d : 2 * d], dict(zip(EXTRAS, full[:, 2 * d :].T, strict=True))


def test_the_randomization_the_critic_sees_is_the_simulations_own(clip):
    rc = RandomizationConfig(tracker_latency_s=0.06, tracker_noise=0.01, max_latency_s=0.02)
    env = HoiEnv([clip], EnvConfig(num_envs=N, num_threads=1, randomization=rc, seed=3))
    obs, true, seen = extras(env)
    obj, torso = env.model.body(env.object.name).id, env.model.body("torso_link").id
    box = np.flatnonzero(env.model.geom_bodyid == obj)[0]
    for i in range(N):
        m = env.backend.batch.get_model(i)
        assert seen["object_mass"][i] == pytest.approx(m.body_mass[obj] / env.model.body_mass[obj])
        assert seen["object_friction"][i] == pytest.approx(m.geom_friction[box, 0])
        assert seen["torso_mass"][i] == pytest.approx(
            m.body_mass[torso] - env.model.body_mass[torso], abs=1e-5
        )
        assert seen["gain_scale"][i] == pytest.approx(
            np.mean(m.actuator_gainprm[:, 0] / env.model.actuator_gainprm[:, 0])
        )
    np.testing.assert_allclose(seen["latency"], env.latency / env.decimation)
    np.testing.assert_allclose(seen["tracker_steps"], env.tracker.steps)
    assert len(set(seen["object_mass"].tolist())) == N  # drawn apart
    # the true state differs from what the noisy, late sensing reports
    assert not np.allclose(true, obs)


def test_without_noise_or_tracker_the_true_part_is_the_policys(clip):
    quiet = RandomizationConfig(sensor_noise=SensorNoise(0.0, 0.0, 0.0))
    env = HoiEnv([clip], EnvConfig(num_envs=N, num_threads=1, randomization=quiet))
    obs, true, _ = extras(env)
    np.testing.assert_allclose(true, obs, atol=1e-6)


def test_a_critic_widens_into_the_privileged_one_with_its_values(tmp_path, clip):
    def config(privileged: bool, init: str = "") -> Stage1Config:
        return Stage1Config(placement=Placement(num_envs=N, threads=1), iterations=1,
                            ppo=PpoConfig(**TINY, privileged_critic=privileged),
                            saving=Saving(interval=1), init=init)  # fmt: skip

    plain = train(config(False), tmp_path / "plain", [clip], quiet=True)
    # loaded at its iteration with nothing left to run: the widened weights as loaded
    wide = train(config(True, str(tmp_path / "plain")), tmp_path / "wide", [clip], quiet=True)
    obs = wide.env.get_observations()
    assert obs["critic"].shape[1] > obs["policy"].shape[1]
    with torch.no_grad():
        before = plain.alg.critic({"critic": obs["policy"]})
        after = wide.alg.critic(obs)
    torch.testing.assert_close(after, before)
    actor, loaded = wide.alg.actor.state_dict(), plain.alg.actor.state_dict()
    assert all(torch.equal(actor[k], v) for k, v in loaded.items())
    with pytest.raises(ValueError, match="does not widen"):
        widen_critic(plain.alg.critic.state_dict(), 7)
