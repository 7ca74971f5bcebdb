"""The torch random draws the device environment makes (numpy's Generator calls)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.random_source import TorchRandom  # noqa: E402


@pytest.fixture
def rng() -> TorchRandom:
    return TorchRandom(0, torch.device("cpu"), torch.float32)


def test_choice_follows_the_probabilities_and_never_draws_an_impossible_index(rng):
    p = np.array([0.5, 0.0, 0.3, 0.2, 0.0])
    draw = rng.choice(5, size=(200, 100), p=p)
    assert draw.shape == (200, 100) and draw.dtype == torch.int64
    counts = np.bincount(draw.numpy().ravel(), minlength=5) / draw.numel()
    np.testing.assert_allclose(counts, p, atol=0.01)
    assert counts[1] == counts[4] == 0


def test_choice_is_uniform_by_default_and_draws_nothing_when_asked(rng):
    counts = np.bincount(rng.choice(4, size=40000).numpy(), minlength=4) / 40000
    np.testing.assert_allclose(counts, 0.25, atol=0.01)
    assert rng.choice(3, size=0).shape == (0,)


def test_integers_stay_in_their_bounds(rng):
    high = torch.tensor([1, 2, 7])
    draw = rng.integers(0, high, (5000, 3))
    assert (draw >= 0).all() and (draw < high).all()
    assert set(draw[:, 2].tolist()) == set(range(7))
    scalar = rng.integers(3, 5, 1000)
    assert set(scalar.tolist()) == {3, 4}
