import mujoco
import numpy as np
import pytest

from robots import g1
from training.env import EnvConfig, HoiEnv
from training.observations import ObsInputs, build_observation


@pytest.fixture(scope="module")
def env(clip):
    return HoiEnv([clip], EnvConfig(num_envs=6, num_threads=2, seed=1))


def test_steps_and_resets(env):
    obs = env.observation()
    assert obs.shape == (6, 498) and obs.dtype == np.float32
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs, reward, terminated, _, info = env.step(rng.normal(scale=0.2, size=(6, 29)))
        assert np.all(np.isfinite(obs)) and np.all(np.isfinite(reward))
        assert reward.shape == terminated.shape == (6,)
        assert set(info["terms"]) >= {"body_pos", "object_pos", "contact", "grasp", "energy"}
    with pytest.raises(ValueError, match="action shape"):
        env.step(np.zeros((6, 28)))


def test_reference_state_initialization(env):
    env.reset(np.arange(6))
    state = env.index.from_backend(env.backend)
    ref, _ = env.refs.state(env.clip, env.frame)
    np.testing.assert_allclose(state.body_pos, ref.body_pos, atol=1e-6)
    np.testing.assert_allclose(state.joint_vel, ref.joint_vel, atol=1e-9)
    np.testing.assert_allclose(state.object_ang_vel, ref.object_ang_vel, atol=1e-9)


def test_batched_observation_equals_single_robot(env):
    """The batch path and the single-MjData path (sim2sim, deploy) give identical obs."""
    rng = np.random.default_rng(2)
    for _ in range(5):
        env.step(rng.normal(scale=0.2, size=(6, 29)))
    batched = env.observation()
    data = mujoco.MjData(env.model)
    qpos, qvel = env.backend.field("qpos"), env.backend.field("qvel")
    for i in range(6):
        data.qpos[:], data.qvel[:] = qpos[i], qvel[i]
        mujoco.mj_forward(env.model, data)
        state = env.index.from_mjdata(data)
        future = [
            env.refs.state(env.clip[i : i + 1], env.frame[i : i + 1] + k)
            for k in env.cfg.future_offsets
        ]
        single = build_observation(ObsInputs(state, env.last_action[i : i + 1], future, env.planes))
        np.testing.assert_allclose(single[0], batched[i], atol=1e-5)


def test_zero_action_holds_the_default_pose_targets(env):
    env.step(np.zeros((6, 29)))
    np.testing.assert_allclose(env.backend.field("ctrl")[0], g1.DEFAULT_POS)


def test_env_with_real_retargeted_clip(shared):
    from retarget.pipeline import retarget
    from retarget.readers import read_motion

    folder = shared / "data/interact_omomo"
    clip = retarget(read_motion(folder / "motions/sub8_largebox_000.pt", folder / "objects")).clip
    env = HoiEnv([clip], EnvConfig(num_envs=4, num_threads=2))
    for _ in range(10):
        obs, reward, *_ = env.step(np.zeros((4, 29)))
    assert np.all(np.isfinite(obs)) and np.all(np.isfinite(reward))
