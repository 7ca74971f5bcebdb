"""Adaptive start sampling: starts where episodes fail, a uniform share kept, and no
failure crossing from one clip into another."""

from pathlib import Path

import numpy as np
import pytest

from training.start_sampling import AdaptiveStarts, StartSampling

CLIP = Path(__file__).resolve().parents[2] / "sim2sim/policies/stage1_lift_standing_clip.npz"

HZ = 50.0
CFG = StartSampling(adaptive=True, bin_seconds=0.5, uniform_share=0.2, lead_bins=3, decay=0.5)


def shares(sampler, n=40_000):
    clip, frame = sampler.draw(np.random.default_rng(0), n, np.zeros(1))
    clip, frame = np.asarray(clip), np.asarray(frame)
    return np.bincount(sampler.bins(clip, frame), minlength=len(sampler.clip)) / n, clip, frame


def test_without_failures_starts_are_uniform_along_the_clips():
    sampler = AdaptiveStarts(CFG, np.array([101, 51]), HZ)  # 4 + 2 bins of 25 frames
    share, clip, frame = shares(sampler)
    np.testing.assert_allclose(share, sampler.width / sampler.width.sum(), atol=0.01)
    assert frame.min() == 0 and frame[clip == 0].max() == 99 and frame[clip == 1].max() == 49


def test_failures_draw_starts_to_their_bin_and_the_bins_before_it():
    sampler = AdaptiveStarts(CFG, np.array([101, 51]), HZ)
    for _ in range(500):  # every batch fails in clip 0's third bin (frames 50-74)
        sampler.record(np.array([0, 0, 1]), np.array([60, 60, 30]), np.array([True, True, False]))
    share, _, _ = shares(sampler)
    uniform = 0.2 * sampler.width / sampler.width.sum()
    lead = np.array([0.25, 0.5, 1.0]) / 1.75 * 0.8  # bins 0-2: decay 0.5 toward the past
    np.testing.assert_allclose(share[:3], uniform[:3] + lead, atol=0.01)
    np.testing.assert_allclose(share[3:], uniform[3:], atol=0.01)  # later bins, other clip


def test_a_failure_does_not_raise_the_end_of_the_clip_before():
    sampler = AdaptiveStarts(CFG, np.array([101, 51]), HZ)
    sampler.record(np.array([1]), np.array([5]), np.array([True]))  # clip 1's first bin
    p = sampler.probabilities()
    assert p[4] == pytest.approx(0.2 * 25 / 150 + 0.8)
    np.testing.assert_allclose(p[:4], 0.2 * 25 / 150)


def test_truncated_episodes_are_no_failures():
    sampler = AdaptiveStarts(CFG, np.array([101]), HZ)
    sampler.record(np.array([0, 0]), np.array([99, 40]), np.array([False, False]))
    assert sampler.failures.sum() == 0


def test_starts_are_drawn_on_torch_tensors_too():
    torch = pytest.importorskip("torch")
    sampler = AdaptiveStarts(CFG, np.array([101, 51]), HZ)
    from training.random_source import TorchRandom

    ref = torch.zeros(1)
    clip, frame = sampler.draw(TorchRandom(0, ref.device, ref.dtype), 1000, ref)
    assert clip.dtype == torch.int64 and frame.dtype == torch.int64
    assert int(frame[clip == 1].max()) <= 49


@pytest.mark.parametrize("bad", [dict(bin_seconds=0), dict(lead_bins=0), dict(uniform_share=1.5),
                                 dict(decay=0), dict(memory=2)])  # fmt: skip
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError, match="start sampling"):
        StartSampling(adaptive=True, **bad)


def test_the_environment_counts_its_terminations_where_they_happen():
    from robots.clip import load_clip
    from training.env import EnvConfig, HoiEnv

    env = HoiEnv([load_clip(CLIP)], EnvConfig(num_envs=8, starts=CFG))
    env.reset(np.arange(8))
    ended = []
    for _ in range(40):  # zero actions from the default pose: the reference leaves it
        frames = env.frame.copy()
        _, _, terminated, _, _ = env.step(np.zeros((8, 29)))
        ended += list(env.starts.bins(np.zeros(int(terminated.sum()), int), frames[terminated] + 1))
    assert ended, "no episode terminated"
    counted = np.nonzero(env.starts.failures)[0]
    assert set(counted) == set(ended)
