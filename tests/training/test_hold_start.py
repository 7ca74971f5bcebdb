"""Starts from the node's hold: simulated settled states, placed at the clip's start."""

from pathlib import Path

import numpy as np
import pytest

from robots import g1, quat
from robots.clip import load_clip
from training.env import EnvConfig, HoiEnv
from training.randomization import RandomizationConfig

CLIP = Path(__file__).resolve().parents[2] / "sim2sim/policies/stage1_lift_standing_clip.npz"
N = 8


@pytest.fixture(scope="module")
def env():
    rc = RandomizationConfig(hold_start_prob=0.5, robot_start_offset=0.0, robot_start_yaw=0.0,
                             joint_pos_noise=0.0, joint_vel_noise=0.0)  # fmt: skip
    return HoiEnv([load_clip(CLIP)], EnvConfig(num_envs=N, num_threads=1, randomization=rc))


def test_holds_settle_forward_on_each_simulations_own_gains(env):
    q, v = env.holds.qpos, env.holds.qvel
    assert q.shape == (3 * N, 7 + g1.NUM_JOINTS) and v.shape == (3 * N, 6 + g1.NUM_JOINTS)
    # set down at the origin in the default pose: they lean and drift forward
    # (the node's hold: 3-4 cm forward, 2-3 degrees of pitch)
    assert np.all(q[:, 0] > 0.01) and np.all(np.abs(q[:, 1]) < 0.02)
    assert np.all(np.abs(q[:, 7:] - g1.DEFAULT_POS).max(axis=1) > 1e-3)  # sagged
    assert np.abs(v[2 * N :]).max() < 0.1  # the 2 s holds are at rest
    # each simulation's randomized gains are back after the holds
    kp = env.backend.model_field("actuator_gainprm")[:, :, 0]
    np.testing.assert_array_equal(kp, env.randomizer.f["actuator_gainprm"][:, :, 0])


def test_a_hold_start_is_a_settled_robot_at_the_clips_first_place(env):
    ids = np.arange(N)
    hold = np.arange(N) % 2 == 0
    env.reset_to(ids, np.zeros(N, int), np.where(hold, 0, 50), hold)
    state = env.index.from_backend(env.backend)
    ref, _ = env.refs.state(np.zeros(N, int), np.zeros(N, int))
    ahead = state.root_pos[:, :2] - ref.root_pos[:, :2]
    heading = quat.yaw(ref.root_quat)
    forward = ahead[:, 0] * np.cos(heading) + ahead[:, 1] * np.sin(heading)
    assert np.all(forward[hold] > 0.01) and np.all(np.linalg.norm(ahead[hold], axis=1) < 0.06)
    np.testing.assert_allclose(quat.yaw(state.root_quat[hold]), heading[hold], atol=0.03)
    np.testing.assert_array_equal(
        env.prev_target[hold], np.broadcast_to(g1.DEFAULT_POS, (hold.sum(), 29))
    )
    assert np.all(env.frame[~hold] == 50)


def test_reset_draws_hold_starts_at_the_first_frame(env):
    draws = []
    for _ in range(20):
        env.reset(np.arange(N))
        draws.append(env.frame.copy())
    share = np.mean(np.stack(draws) == 0)
    assert 0.3 < share < 0.7  # hold_start_prob 0.5
