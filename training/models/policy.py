"""The Stage 2 variational policy (InterPrior):

- prior p(z | history, goals): ``GoalPrior`` (Transformer), the deployable part;
- encoder q(z | x, goals, full future): an MLP giving a residual to the prior mean and
  its own variance (MaskedMimic's residual form), training only;
- decoder f(a | history, z): an MLP (1024, 1024, 512) on the current proprioception and
  the unit-sphere latent;
- a goal-reconstruction head on z (training only): predicts every goal feature, so the
  latent has to carry the masked-out parts of the goal.

The training path also decodes the deterministic prior latent (``prior_action``): the
action the deployed policy takes. Imitating it as well is the hybrid objective of
conditional VAEs (Sohn et al. 2015, "GSNN" term): a CVAE trained only through its
recognition (posterior) path acts with a latent at test time that it never decoded in
training; with a small KL weight the two differ enough to drop a grasp.

Inputs are normalized by running statistics (rsl-rl's EmpiricalNormalization).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from rsl_rl.modules import MLP, EmpiricalNormalization
from torch import nn

from contract.goals.masks import TASKS
from training.models.latent import sample
from training.models.prior import LOGVAR_RANGE, GoalPrior


@dataclass(frozen=True)
class ModelConfig:
    latent_dim: int = 64
    prior_width: int = 256
    prior_heads: int = 4
    prior_layers: int = 2
    encoder_hidden: tuple[int, ...] = (1024, 512)
    decoder_hidden: tuple[int, ...] = (1024, 1024, 512)
    recon_hidden: tuple[int, ...] = (256,)
    tasks: int = len(TASKS)  # learnable task tokens of the prior (Stage 3's get-up)


@dataclass(frozen=True)
class Sizes:
    obs: int  # proprioception per history frame
    history: int  # frames
    goals: int  # tokens
    goal_dim: int  # features per token (a token is features, mask, time to go)
    future: int  # the expert's full reference-future features
    actions: int

    @property
    def token(self) -> int:
        return 2 * self.goal_dim + 1


class VariationalPolicy(nn.Module):
    def __init__(self, sizes: Sizes, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        self.sizes, self.cfg = sizes, cfg
        s, d = sizes, cfg.latent_dim
        self.obs_norm = EmpiricalNormalization(s.obs)
        self.token_norm = EmpiricalNormalization(s.token)
        self.future_norm = EmpiricalNormalization(s.future)
        self.prior = GoalPrior(s.obs, s.token, s.history, s.goals, d,
                               cfg.prior_width, cfg.prior_heads, cfg.prior_layers,
                               cfg.tasks)  # fmt: skip
        self.encoder = MLP(s.obs + s.future + s.goals * s.token, 2 * d, cfg.encoder_hidden)
        self.decoder = MLP(s.obs + d, s.actions, cfg.decoder_hidden)
        self.recon = MLP(d, s.goals * s.goal_dim, cfg.recon_hidden)

    def update_normalization(self, history, tokens, future) -> None:
        self.obs_norm.update(history[:, -1])
        self.token_norm.update(tokens.reshape(-1, tokens.shape[-1]))
        self.future_norm.update(future)

    def no_task(self, history: torch.Tensor) -> torch.Tensor:
        """Task flags all off (B, tasks): plain goal following."""
        return history.new_zeros(len(history), self.cfg.tasks)

    def _prior(self, history, tokens, visible, task=None):
        task = self.no_task(history) if task is None else task
        return self.prior(self.obs_norm(history), self.token_norm(tokens), visible, task)

    def decode(self, history: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([self.obs_norm(history[:, -1]), z], dim=-1))

    def forward(self, history, tokens, visible, future, noise, task=None):
        """Training path: prior and posterior, the actions decoded from the posterior
        latent and from the deterministic prior latent (the deployed action), and the
        goal reconstruction. Returns a dict of tensors."""
        mu_p, logvar_p = self._prior(history, tokens, visible, task)
        x = torch.cat(
            [self.obs_norm(history[:, -1]), self.future_norm(future),
             self.token_norm(tokens).flatten(1)], dim=-1,
        )  # fmt: skip
        residual, logvar_q = self.encoder(x).chunk(2, dim=-1)
        mu_q, logvar_q = mu_p + residual, logvar_q.clamp(*LOGVAR_RANGE)
        z = sample(mu_q, logvar_q, noise)
        return {
            "action": self.decode(history, z),
            "prior_action": self.decode(history, sample(mu_p, logvar_p)),
            "recon": self.recon(z).reshape(-1, self.sizes.goals, self.sizes.goal_dim),
            "mu_p": mu_p, "logvar_p": logvar_p, "mu_q": mu_q, "logvar_q": logvar_q,
        }  # fmt: skip

    def act(self, history, tokens, visible, noise=None, task=None):
        """Deployment path: prior + decoder only (``noise`` None or 0: the deterministic
        action, the one evaluated and fine-tuned; ``task`` (B, tasks) flags, default all
        off)."""
        mu_p, logvar_p = self._prior(history, tokens, visible, task)
        return self.decode(history, sample(mu_p, logvar_p, noise))
