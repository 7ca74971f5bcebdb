"""Where training episodes start along the clips: at uniformly drawn frames (reference
state initialization), or adaptively, more often shortly before where episodes have
been failing (BeyondMimic's adaptive sampling). The clips are cut into bins of
``bin_seconds``; each reset batch's failures are counted where they happened and kept
as a moving average; a failure raises its own bin and the few bins before it (a start
there must still pass what failed), and a share of the starts stays uniform."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.array_namespace import like, namespace


@dataclass(frozen=True)
class StartSampling:
    adaptive: bool = False
    """Draw starts where episodes fail (False: uniformly along a uniformly drawn clip)."""
    bin_seconds: float = 0.5
    uniform_share: float = 0.2
    """Share of the starts drawn uniformly along the clips whatever the failures."""
    lead_bins: int = 3
    """A failure raises its bin and the ``lead_bins - 1`` bins before it in its clip."""
    decay: float = 0.6  # weight of each earlier bin relative to the next
    memory: float = 0.02  # weight of one reset batch's failure counts in the average

    def __post_init__(self):
        if self.bin_seconds <= 0 or self.lead_bins < 1 or not 0 <= self.uniform_share <= 1:
            raise ValueError(
                f"start sampling: bins > 0 s, lead_bins >= 1, a share in [0, 1]: {self}"
            )
        if not (0 < self.decay <= 1 and 0 < self.memory <= 1):
            raise ValueError(f"start sampling: decay and memory in (0, 1]: {self}")


def _host(a) -> np.ndarray:
    return np.asarray(a if namespace(a) is np else a.cpu())


class AdaptiveStarts:
    """Failure-weighted start frames over clips of ``lengths`` frames (at ``hz``)."""

    def __init__(self, cfg: StartSampling, lengths: np.ndarray, hz: float):
        self.cfg = cfg
        self.bin_frames = max(1, round(cfg.bin_seconds * hz))
        last = np.maximum(_host(lengths) - 1, 1)  # a start needs a frame after it
        self.count = -(-last // self.bin_frames)  # bins per clip
        self.offset = np.r_[0, np.cumsum(self.count)[:-1]]
        self.clip = np.repeat(np.arange(len(last)), self.count)
        self.first = (np.arange(len(self.clip)) - self.offset[self.clip]) * self.bin_frames
        self.width = np.minimum(self.first + self.bin_frames, last[self.clip]) - self.first
        self.failures = np.zeros(len(self.clip))

    def bins(self, clip, frame) -> np.ndarray:
        """The bin of each (clip, frame)."""
        clip, frame = _host(clip), _host(frame)
        return self.offset[clip] + np.minimum(frame // self.bin_frames, self.count[clip] - 1)

    def record(self, clip, frame, failed) -> None:
        """Episodes that ended at (clip, frame), ``failed`` where a termination ended them."""
        failed = _host(failed).astype(bool)
        counts = np.bincount(self.bins(clip, frame)[failed], minlength=len(self.failures))
        m = self.cfg.memory
        self.failures = (1 - m) * self.failures + m * counts

    def probabilities(self) -> np.ndarray:
        """Per bin: the uniform share by bin length, the rest by the failures ahead."""
        c = self.cfg
        uniform = self.width / self.width.sum()
        ahead = np.zeros_like(self.failures)
        for u in range(c.lead_bins):
            same = np.r_[self.clip[u:] == self.clip[: len(self.clip) - u], np.zeros(u, bool)]
            shifted = np.r_[self.failures[u:], np.zeros(u)]
            ahead += c.decay**u * np.where(same, shifted, 0.0)
        if ahead.sum() <= 0:
            return uniform
        return c.uniform_share * uniform + (1 - c.uniform_share) * ahead / ahead.sum()

    def draw(self, rng, k: int, ref):
        """(clip, frame) of ``k`` starts, int64 arrays in ``ref``'s namespace."""
        xp = namespace(ref)
        cdf = like(np.cumsum(self.probabilities()), ref)
        b = xp.clip(xp.searchsorted(cdf, like(rng.random(k), ref)), max=len(self.clip) - 1)
        first, width = like(self.first, ref)[b], like(self.width, ref)[b]
        frame = first + xp.floor(like(rng.random(k), ref) * width)
        return xp.astype(like(self.clip, ref)[b], xp.int64), xp.astype(frame, xp.int64)
