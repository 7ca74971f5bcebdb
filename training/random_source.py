"""The environment's random draws on the device its arrays live on: numpy's Generator
for numpy arrays (the streams the batch backend always drew), and ``TorchRandom``, the
same calls drawn by a seeded torch generator on a torch device (no host round trip)."""

from __future__ import annotations

import numpy as np

from common.array_namespace import namespace


class TorchRandom:
    """The few ``numpy.random.Generator`` draws the environment makes, as float tensors
    of ``dtype`` on ``device``; ``size`` is an int or a shape, bounds may be tensors."""

    def __init__(self, seed: int, device, dtype):
        import torch

        self.torch, self.device, self.dtype = torch, device, dtype
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(seed)
        self._cdfs: dict[bytes, object] = {}

    def _shape(self, size) -> tuple[int, ...]:
        return (int(size),) if np.ndim(size) == 0 else tuple(int(s) for s in size)

    def random(self, size):
        return self.torch.rand(self._shape(size), generator=self.gen, device=self.device,
                               dtype=self.dtype)  # fmt: skip

    def uniform(self, low=0.0, high=1.0, size=1):
        return low + (high - low) * self.random(size)

    def normal(self, loc=0.0, scale=1.0, size=1):
        noise = self.torch.randn(self._shape(size), generator=self.gen, device=self.device,
                                 dtype=self.dtype)  # fmt: skip
        return loc + scale * noise

    def choice(self, a: int, size=1, p=None):
        """Indices in [0, a) (int64), with probabilities ``p`` (uniform by default): the
        inverse of the cumulative distribution at uniform draws, the distribution kept on
        the device per ``p`` (no upload per call)."""
        torch = self.torch
        p = np.full(a, 1.0 / a) if p is None else np.asarray(p, dtype=np.float64)
        key = p.tobytes()
        if key not in self._cdfs:
            self._cdfs[key] = torch.as_tensor(np.cumsum(p) / p.sum(), device=self.device)
        u = torch.rand(self._shape(size), generator=self.gen, device=self.device,
                       dtype=torch.float64)  # fmt: skip
        return torch.searchsorted(self._cdfs[key], u, right=True).clamp(max=a - 1)

    def integers(self, low, high, size=1):
        """Integers in [low, high) (int64), ``high`` a number or a tensor of bounds."""
        span = high - low
        draw = self.torch.floor(self.random(size).double() * span).long()
        return low + draw.clamp(max=span - 1)  # rounding never reaches high


def make_random(seed: int, like):
    """Random draws for arrays like ``like``: numpy's Generator, or ``TorchRandom`` on
    the tensor's device and float dtype."""
    if namespace(like) is np:
        return np.random.default_rng(seed)
    return TorchRandom(seed, like.device, like.dtype)
