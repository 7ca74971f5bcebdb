"""Stage 3's PPO formulas on known values: GAE, the clipped surrogate and the action KL."""

import math

import pytest
import torch

from training.ppo import gae, gaussian_kl, surrogate_loss


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
