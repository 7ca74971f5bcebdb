"""The prior p(z | history, goals): a small Transformer over history tokens (recent
proprioception) and goal tokens (masked goal features). Goal tokens whose mask is all
zero are hidden from attention. Task tokens (Stage 3's get-up) are learned embeddings,
seen only while their task flag is on. Hand-written attention (matmul + softmax) so
that the ONNX export needs no special operators."""

from __future__ import annotations

import torch
from torch import nn

LOGVAR_RANGE = (-10.0, 4.0)


class Block(nn.Module):
    """Pre-norm self-attention + MLP."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width)
        )

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        scores = q @ k.transpose(-1, -2) / (w // self.heads) ** 0.5 + bias[:, None, None, :]
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, w)
        x = x + self.out(attended)
        return x + self.mlp(self.norm2(x))


class GoalPrior(nn.Module):
    def __init__(
        self, obs_dim: int, token_dim: int, history: int, goals: int, latent_dim: int,
        width: int = 256, heads: int = 4, layers: int = 2, tasks: int = 0,
    ):  # fmt: skip
        super().__init__()
        self.history = history
        self.obs_in = nn.Linear(obs_dim, width)
        self.goal_in = nn.Linear(token_dim, width)
        self.task_tokens = nn.Parameter(torch.zeros(tasks, width))
        self.position = nn.Parameter(torch.zeros(history + goals, width))
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 2 * latent_dim)

    def forward(self, history: torch.Tensor, tokens: torch.Tensor, visible: torch.Tensor,
                task: torch.Tensor):  # fmt: skip
        """history (B, H, obs_dim), tokens (B, G, token_dim), visible (B, G), task flags
        (B, tasks) -> mu, logvar."""
        x = torch.cat([self.obs_in(history), self.goal_in(tokens)], dim=1) + self.position
        # Broadcast against the batch by arithmetic: a traced len(x) would freeze it.
        x = torch.cat([x, self.task_tokens + torch.zeros_like(x[:, :1, :1])], dim=1)
        seen = torch.cat(
            [torch.ones_like(history[..., 0]), visible.to(history.dtype), task.to(history.dtype)],
            dim=1,
        )
        bias = (1.0 - seen) * -1e9
        for block in self.blocks:
            x = block(x, bias)
        mu, logvar = self.head(self.norm(x[:, self.history - 1])).chunk(2, dim=-1)
        return mu, logvar.clamp(*LOGVAR_RANGE)
