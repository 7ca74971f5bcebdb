"""Goal features, mask patterns and goal tokens."""

import numpy as np
import pytest

from contract.goals.features import COMPONENTS, GOAL_DIM, HAND_POS, SLICES, goal_residual
from contract.goals.masks import (
    NUM_TOKENS,
    PATTERNS,
    PREVIEW,
    TRAINING_PROBS,
    pattern_mask,
    sample_masks,
)
from contract.goals.tokens import GoalConfig, Goals
from contract.reference import ReferenceMotions
from contract.state import HANDS, KEY_BODIES
from robots import quat


@pytest.fixture(scope="module")
def refs(clip):
    return ReferenceMotions([clip], fps=50.0)


def test_residual_is_zero_on_the_reference_and_known_off_it(refs):
    state, contact = refs.state(np.zeros(2, int), np.array([10, 80]))
    res = goal_residual(state, state, contact)
    assert res.shape == (2, GOAL_DIM)
    assert np.allclose(np.delete(res, np.r_[SLICES["contact"]], axis=1), 0.0, atol=1e-9)
    assert np.array_equal(res[:, SLICES["contact"]], contact)
    # Targets 0.3 m ahead along the robot's heading, and turned 0.2 rad about z.
    target, _ = refs.state(np.zeros(2, int), np.array([10, 80]))
    heading = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), quat.yaw(state.root_quat))
    target.root_pos = state.root_pos + quat.rotate(heading, np.array([0.3, 0.0, 0.0]))
    turn = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array([0.2, 0.2]))
    target.root_quat = quat.multiply(turn, state.root_quat)
    res = goal_residual(state, target, contact)
    assert np.allclose(res[:, SLICES["root_pos"]], [[0.3, 0.0, 0.0]] * 2, atol=1e-9)
    assert np.allclose(res[:, SLICES["root_rot"]], [[0.0, 0.0, 0.2]] * 2, atol=1e-9)


def test_patterns_mask_the_documented_components():
    assert sum(size for _, size in COMPONENTS) == GOAL_DIM == 3 + 3 + 29 + 3 * len(KEY_BODIES) + 11
    full = pattern_mask("full", 2)
    assert full.shape == (2, NUM_TOKENS, GOAL_DIM) and full.all()
    snap = pattern_mask("snapshot")[0]
    assert not snap[: len(PREVIEW)].any() and snap[-1].all()
    traj = pattern_mask("trajectory")[0]
    expected = np.zeros(GOAL_DIM, bool)
    expected[SLICES["root_pos"]] = expected[SLICES["object_pos"]] = True
    assert (traj[: len(PREVIEW)] == expected).all() and not traj[-1].any()
    contact = pattern_mask("contact")[0, -1]
    hands = np.zeros(GOAL_DIM, bool)
    hands[HAND_POS] = True
    for name in ("object_pos", "object_rot", "contact"):
        hands[SLICES[name]] = True
    assert (contact == hands).all() and contact[HAND_POS].sum() == 3 * len(HANDS)
    combo = pattern_mask("contact+trajectory")[0]
    assert (combo[-1] == contact).all() and (combo[0] == expected).all()
    with pytest.raises(ValueError, match="unknown goal pattern"):
        pattern_mask("dance")


def _rng(kind: str):
    """numpy's Generator, or the torch draws the device environment makes."""
    if kind == "numpy":
        return np.random.default_rng(0), np.asarray
    torch = pytest.importorskip("torch")
    from training.random_source import TorchRandom

    return TorchRandom(0, torch.device("cpu"), torch.float32), lambda t: t.numpy()


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_training_masks_follow_the_documented_distribution(kind):
    assert abs(sum(TRAINING_PROBS.values()) - 1.0) < 1e-9
    assert set(TRAINING_PROBS) == set(PATTERNS) | {"random"}
    rng, host = _rng(kind)
    masks = host(sample_masks(rng, 20000))
    full = masks.all(axis=(1, 2)).mean()
    snapshot_only = (~masks[:, :-1].any(axis=(1, 2)) & masks[:, -1].all(axis=1)).mean()
    assert abs(full - 0.2) < 0.02  # 'full' (+ rare all-kept 'random')
    assert abs(snapshot_only - 0.2) < 0.02
    # Masks act on whole components: every component is all-in or all-out per token.
    for name, sl in SLICES.items():
        part = masks[..., sl]
        assert (part.all(-1) | ~part.any(-1) | (name == "body_pos")).all()


def test_residuals_of_several_frames_are_those_of_each_frame(refs):
    clip = np.zeros(3, int)
    state, _ = refs.state(clip, np.array([5, 50, 100]))
    frames = np.array([[6, 51, 101], [9, 70, 100], [0, 0, 0]])
    stacked = goal_residual(state, *refs.state(clip, frames))
    assert stacked.shape == (3, 3, GOAL_DIM)
    for k, f in enumerate(frames):
        np.testing.assert_allclose(stacked[k], goal_residual(state, *refs.state(clip, f)),
                                   atol=1e-12)  # fmt: skip


def test_tokens_carry_masked_residuals_masks_and_time(refs):
    n = 3
    rng = np.random.default_rng(1)
    goals = Goals(n, GoalConfig(history=2), 50.0, rng, pattern="snapshot")
    clip, frame = np.zeros(n, int), np.array([0, 40, 90])
    state, _ = refs.state(clip, frame)
    proprio = rng.normal(size=(n, 7))
    last = refs.lengths[clip] - 1
    goals.reset(np.arange(n), frame, last, proprio)
    assert ((goals.snapshot >= frame + 25) | (goals.snapshot == last)).all()
    tokens, visible, residual = goals.tokens(state, refs, clip, frame)
    assert tokens.shape == (n, NUM_TOKENS, 2 * GOAL_DIM + 1) and tokens.dtype == np.float32
    assert (visible == [[False] * len(PREVIEW) + [True]] * n).all()
    assert np.allclose(tokens[:, :-1, :GOAL_DIM], 0.0)  # hidden previews: zero features
    assert np.allclose(tokens[:, -1, :GOAL_DIM], residual[:, -1])
    assert np.allclose(tokens[:, -1, -1], (goals.snapshot - frame) / 50.0)
    # History: the newest proprioception last; a reached snapshot moves ahead.
    reached = goals.snapshot.copy()
    goals.advance(reached, last, proprio + 1)
    assert ((goals.snapshot > reached) | (reached == last)).all()
    assert np.allclose(goals.history[:, -1], proprio + 1)
    assert np.allclose(goals.history[:, 0], proprio)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_a_pattern_mix_draws_only_its_patterns(kind):
    rng, host = _rng(kind)
    masks = host(sample_masks(rng, 500, {"trajectory": 1.0, "contact": 0.0}))
    assert (masks == pattern_mask("trajectory", 500)).all()
    with pytest.raises(ValueError, match="unknown goal patterns"):
        sample_masks(rng, 5, {"walk": 1.0})
