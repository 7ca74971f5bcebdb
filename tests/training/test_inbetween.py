"""The Stage 3 in-betweening task: goal masks, starts (offset, perturbed, fallen), the
get-up flag and terminations, and the success reward."""

from dataclasses import replace

import numpy as np
import pytest

from contract.goals.features import POSITIONS, SLICES
from contract.goals.masks import NUM_TOKENS
from contract.terminations import standing
from robots import quat
from training import rewards as R
from training.env import EnvConfig
from training.inbetween import InbetweenConfig, InbetweenEnv, inbetween_masks
from training.randomization import RandomizationConfig


def test_success_reward_only_for_due_goals_within_xi():
    distance = np.array([0.05, 0.05, 0.3, np.nan, 0.149])
    due = np.array([True, False, True, True, True])
    assert R.goal_success(distance, due, 0.15).tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]


def test_inbetween_masks_are_single_frame_goals_with_a_position():
    masks = inbetween_masks(np.random.default_rng(0), 2000)
    assert masks.shape[1] == NUM_TOKENS
    assert not masks[:, :-1].any()  # preview tokens hidden
    assert masks[:, -1, POSITIONS].any(axis=1).all()  # success is measurable
    # A mix of goals: some see the full frame, some only part of it.
    full = masks[:, -1].all(axis=1)
    assert 0.1 < full.mean() < 0.6 and masks[:, -1, SLICES["joint_pos"]].any(1).mean() < 0.9


@pytest.fixture(scope="module")
def env(clip):
    cfg = EnvConfig(num_envs=8, num_threads=1, psi_prob=0.0,
                    randomization=RandomizationConfig(enabled=False))  # fmt: skip
    task = InbetweenConfig(fallen_prob=0.5, perturbed_prob=0.5, fallen_states=8)
    return InbetweenEnv([clip], cfg, task)


def test_fallen_bank_holds_robots_lying_on_the_floor(env):
    bank = env.fallen_bank
    assert len(bank["clip"]) == 8
    z = bank["qpos"][:, env.index.root_q + 2]
    up = -quat.rotate(quat.conjugate(bank["qpos"][:, env.index.root_q + 3 : env.index.root_q + 7]),
                      np.array([0.0, 0.0, -1.0]))[:, 2]  # fmt: skip
    assert (z < 0.45).all() and (up < 0.8).all()


def test_starts_offsets_fallen_flags_and_getup_terminations(env):
    env.reset(np.arange(env.n))
    state = env.index.from_backend(env.backend)
    ref, _ = env.refs.state(env.clip, env.frame)
    up = standing(state, env.task.getup)
    up_in_data = standing(ref, env.task.getup)
    # Fallen starts carry the get-up flag and lie down; the others stand (or bend over)
    # as their dataset frame does.
    assert env.getup.any() and (~env.getup).any() and not up[env.getup].any()
    assert (up == up_in_data)[~env.getup].all() and up.any()
    shift = np.linalg.norm(state.root_pos[:, :2] - ref.root_pos[:, :2], axis=1)[~env.getup]
    assert (shift <= np.sqrt(2) * env.task.start_offset_xy + 1e-9).all() and shift.max() > 0
    # A robot getting up is not "fallen"; one standing that falls is.
    causes = env.terminations(state, ref)
    assert not causes["fall"][env.getup].any()
    env.getup_steps[:] = 10**6
    assert (env.terminations(state, ref)["getup_timeout"] == env.getup).all()
    env.reset(np.arange(env.n))
    getup = env.getup.copy()
    *_, info = env.step(np.zeros((env.n, 29)))
    assert set(info["causes"]) == {"fall", "getup_timeout", "object_deviation",
                                   "robot_deviation", "contact_lost"}  # fmt: skip
    # The reference only supplies goals: deviating from it ends nothing.
    far = replace(state, object_pos=state.object_pos + 1.0)
    assert not env.terminations(far, ref)["object_deviation"].any()
    # The step data the Stage 3 rewards read: the flags during the step, the robot's CoM.
    assert (info["getup"] == getup).all() and info["robot_com"].shape == (env.n, 3)
    assert (info["robot_com"][:, 2] > 0).all()


def test_fallen_share_must_be_a_probability(clip):
    cfg = EnvConfig(num_envs=2, num_threads=1)
    with pytest.raises(ValueError, match="fallen_prob"):
        InbetweenEnv([clip], cfg, InbetweenConfig(fallen_prob=1.5))


def test_random_starts_move_only_the_given_simulations(clip):
    cfg = EnvConfig(num_envs=8, num_threads=1, psi_prob=0.0,
                    randomization=RandomizationConfig(enabled=False))  # fmt: skip
    env = InbetweenEnv([clip], cfg, InbetweenConfig(fallen_prob=0.0, perturbed_prob=1.0))
    assert env.fallen_bank == {}  # no fallen starts: no bank simulated
    ids = np.arange(env.n)
    env.reset_to(ids, np.zeros(env.n, int), np.arange(env.n) * 10)
    before = env._qpos.copy()
    allowed = env.probe.depths(before).object + env.cfg.start_object_tolerance
    env.random_starts(ids[:4])
    np.testing.assert_array_equal(env._qpos[4:], before[4:])
    ix = env.index
    shift = np.linalg.norm(
        env._qpos[:4, ix.root_q : ix.root_q + 2] - before[:4, ix.root_q : ix.root_q + 2], axis=1
    )
    assert (shift <= np.sqrt(2) * env.task.start_offset_xy + 1e-9).all()
    assert (env._qvel[:4, ix.root_v : ix.root_v + 2] != 0).any()  # kicked
    assert (env.probe.depths(env._qpos[:4]).object <= allowed[:4]).all()
