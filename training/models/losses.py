"""The Stage 2 distillation loss, one function per term:

imitation (the expert's action, decoded from the posterior latent) + prior imitation
(the same, decoded from the deterministic prior latent: the deployed action; CVAE's
hybrid objective, see ``training.models.policy``) + goal reconstruction (the goal
features hidden by the mask, recovered from z) + KL(posterior || prior) + lambda_scale
* L_scale (the prior mean near unit norm, where the projected latents live) + lambda_tc
* L_tc (priors of adjacent control steps of one episode close: temporally consistent
intent)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from training.models.latent import kl_divergence


@dataclass(frozen=True)
class LossWeights:
    imitation: float = 1.0
    prior_imitation: float = 1.0
    reconstruction: float = 0.1
    kl: float = 1e-3
    scale: float = 0.01  # lambda_scale
    temporal: float = 0.01  # lambda_tc


def imitation_loss(action: torch.Tensor, expert: torch.Tensor) -> torch.Tensor:
    return (action - expert).square().sum(-1).mean()


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor, mask: torch.Tensor):
    """Squared error on the goal features the policy did not see (mask False)."""
    hidden = (~mask).to(recon.dtype)
    return ((recon - target).square() * hidden).sum() / hidden.sum().clamp_min(1.0)


def kl_loss(out: dict) -> torch.Tensor:
    return kl_divergence(out["mu_q"], out["logvar_q"], out["mu_p"], out["logvar_p"]).mean()


def scale_loss(mu_p: torch.Tensor) -> torch.Tensor:
    return (mu_p.norm(dim=-1) - 1.0).square().mean()


def temporal_loss(mu_p: torch.Tensor, same_episode: torch.Tensor) -> torch.Tensor:
    """``mu_p`` (T, B, d) over consecutive control steps; ``same_episode`` (T, B): step t
    continues the episode of step t - 1."""
    step = (mu_p[1:] - mu_p[:-1]).square().sum(-1)
    keep = same_episode[1:].to(step.dtype)
    return (step * keep).sum() / keep.sum().clamp_min(1.0)


def stage2_loss(out: dict, batch: dict, w: LossWeights, steps: int) -> tuple[torch.Tensor, dict]:
    """Total loss and its terms; ``batch`` holds ``steps`` consecutive control steps of
    B environments, flattened step-major (T * B, ...)."""
    terms = {
        "imitation": imitation_loss(out["action"], batch["expert_action"]),
        "prior_imitation": imitation_loss(out["prior_action"], batch["expert_action"]),
        "reconstruction": reconstruction_loss(out["recon"], batch["residual"], batch["mask"]),
        "kl": kl_loss(out),
        "scale": scale_loss(out["mu_p"]),
        "temporal": temporal_loss(
            out["mu_p"].reshape(steps, -1, out["mu_p"].shape[-1]),
            batch["same_episode"].reshape(steps, -1),
        ),
    }
    total = sum(getattr(w, k) * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}
