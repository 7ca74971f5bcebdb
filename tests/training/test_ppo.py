"""Stage 3's PPO formulas on known values: GAE, group-relative advantages, the clipped
surrogate, the action KL and the KL-adaptive learning rate."""

import math

import pytest
import torch

from training.ppo import (
    adapt_learning_rate,
    gae,
    gaussian_kl,
    group_advantages,
    surrogate_loss,
)


def test_gae_on_a_two_step_episode():
    rewards = torch.tensor([[1.0], [2.0]])
    values = torch.tensor([[0.5], [0.25]])
    dones = torch.tensor([[False], [True]])
    adv, ret = gae(rewards, values, dones, torch.tensor([9.0]), gamma=0.5, lam=1.0)
    # The episode ends after step 1: the last value is not bootstrapped.
    assert adv[1, 0] == pytest.approx(2.0 - 0.25)
    assert adv[0, 0] == pytest.approx(1.0 + 0.5 * 0.25 - 0.5 + 0.5 * 1.75)
    assert torch.allclose(ret, adv + values)


def test_surrogate_clips_large_ratios():
    adv = torch.tensor([1.0, -1.0])
    old = torch.zeros(2)
    # Ratio e^1 on a positive advantage is clipped to 1.2; on a negative one it counts.
    loss = surrogate_loss(torch.tensor([1.0, 1.0]), old, adv, clip=0.2)
    norm = (adv - adv.mean()) / (adv.std() + 1e-8)
    expected = -torch.min(torch.tensor([1.2, math.e]) * norm, torch.tensor([1.2, 1.2]) * norm)
    assert float(loss) == pytest.approx(float(expected.mean()), rel=1e-6)


def test_gaussian_kl_known_values():
    zeros = torch.zeros(3, 2)
    assert float(gaussian_kl(zeros, zeros, zeros, zeros)) == 0.0
    # Means 1 apart, unit std: 0.5 per joint.
    assert float(gaussian_kl(zeros, zeros, zeros + 1.0, zeros)) == pytest.approx(1.0)
    # Same mean, std doubled: log 2 + 1/8 - 1/2 per joint.
    kl = gaussian_kl(zeros, zeros, zeros, zeros + math.log(2.0))
    assert float(kl) == pytest.approx(2 * (math.log(2.0) + 0.125 - 0.5))


def test_learning_rate_brakes_and_recovers_within_bounds():
    assert adapt_learning_rate(1e-4, kl=0.05, desired=0.01, lo=1e-6, hi=1e-4) == pytest.approx(
        1e-4 / 1.5
    )
    assert adapt_learning_rate(1e-6, kl=0.05, desired=0.01, lo=1e-6, hi=1e-4) == 1e-6
    assert adapt_learning_rate(5e-5, kl=0.001, desired=0.01, lo=1e-6, hi=1e-4) == pytest.approx(
        7.5e-5
    )
    assert adapt_learning_rate(9e-5, kl=0.001, desired=0.01, lo=1e-6, hi=1e-4) == 1e-4
    assert adapt_learning_rate(5e-5, kl=0.01, desired=0.01, lo=1e-6, hi=1e-4) == 5e-5


def test_group_advantages_rank_attempts_within_their_group():
    # Two groups of two attempts, three steps; attempt 1 ends after its first step.
    rewards = torch.tensor([[1.0, 5.0, 0.0, 0.0], [1.0, 9.0, 2.0, 1.0], [1.0, 9.0, 2.0, 1.0]])
    valid = torch.tensor([[1, 1, 1, 1], [1, 0, 1, 1], [1, 0, 1, 1]], dtype=torch.bool)
    adv = group_advantages(rewards, valid, 2)
    assert adv.shape == rewards.shape and (adv == adv[0]).all()
    # Returns 3 vs 5 (the 9s came after the end), 4 vs 2: each group's better attempt
    # gets the same positive advantage whatever the groups' levels.
    expected = torch.tensor([-1.0, 1.0, 1.0, -1.0]) / math.sqrt(2)
    torch.testing.assert_close(adv[0], expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="groups of 3"):
        group_advantages(rewards, valid, 3)
