"""The hypersphere latent: Gaussian parameters, the KL between posterior and prior
(computed on the Gaussians, before the projection), and the projection of a sample
onto the unit sphere (InterPrior's z / |z|)."""

from __future__ import annotations

import torch


def kl_divergence(
    mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians, summed over the latent dimensions: (B,)."""
    var_ratio = torch.exp(logvar_q - logvar_p)
    mean_term = (mu_q - mu_p).square() * torch.exp(-logvar_p)
    return 0.5 * (logvar_p - logvar_q + var_ratio + mean_term - 1.0).sum(-1)


def to_sphere(z: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    return z / z.norm(dim=-1, keepdim=True).clamp_min(eps)


def sample(mu: torch.Tensor, logvar: torch.Tensor, noise: torch.Tensor | None = None):
    """mu + sigma * noise, projected to the sphere; ``noise`` None or 0 gives the
    deterministic latent. The caller holds ``noise`` fixed within an episode."""
    if noise is None:
        return to_sphere(mu)
    return to_sphere(mu + torch.exp(0.5 * logvar) * noise)
