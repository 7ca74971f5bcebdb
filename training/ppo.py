"""PPO pieces for Stage 3, whose actor is the structured latent policy (history, goal
tokens, task flags) rather than one observation vector, and whose update adds the prior
preservation loss: rsl-rl's PPO wants its own actor classes and update loop, so the
few formulas it needs are here (CleanRL's, one function each)."""

from __future__ import annotations

import math

import torch


def gaussian_log_prob(action: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor):
    """Log density (B,) of ``action`` under N(mean, exp(log_std)^2), summed over joints."""
    var = torch.exp(2 * log_std)
    return (-((action - mean) ** 2) / (2 * var) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def gae(rewards, values, dones, last_value, gamma: float, lam: float):
    """Generalized advantage estimation over (T, N) rollouts; ``dones`` ends the episode
    after that step. Returns (advantages, returns)."""
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(last_value)
    for t in reversed(range(len(rewards))):
        next_value = last_value if t == len(rewards) - 1 else values[t + 1]
        alive = 1.0 - dones[t].float()
        delta = rewards[t] + gamma * next_value * alive - values[t]
        running = delta + gamma * lam * alive * running
        advantages[t] = running
    return advantages, advantages + values


def surrogate_loss(log_prob, old_log_prob, advantages, clip: float) -> torch.Tensor:
    """Clipped PPO policy loss (to minimize); advantages normalized per minibatch."""
    adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    ratio = torch.exp(log_prob - old_log_prob)
    return -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()


def value_loss(values, returns) -> torch.Tensor:
    return (values - returns).square().mean()


def gaussian_kl(old_mean, old_log_std, mean, log_std) -> torch.Tensor:
    """Mean KL(old || new) of diagonal Gaussian action distributions (summed over joints):
    how far an update moved the policy."""
    var, old_var = torch.exp(2 * log_std), torch.exp(2 * old_log_std)
    kl = log_std - old_log_std + (old_var + (old_mean - mean) ** 2) / (2 * var) - 0.5
    return kl.sum(-1).mean()
