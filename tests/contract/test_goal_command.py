"""The goal command: one protocol for the training rollouts, the evaluator, sim2sim and
the node; pinned snapshots, pattern switches and chains; the goal keys of the runner."""

import numpy as np
import pytest

from contract.goals.chain import ChainGoal
from contract.goals.command import GoalCommand
from contract.goals.masks import pattern_mask
from contract.goals.tokens import GoalConfig
from contract.reference import ReferenceMotions

HZ = 50.0


@pytest.fixture(scope="module")
def refs(clip):
    return ReferenceMotions([clip], fps=HZ)


def command(pattern="snapshot", n=1) -> GoalCommand:
    g = GoalCommand(n, GoalConfig(), HZ, np.random.default_rng(0), pattern=pattern)
    proprio = np.zeros((n, 7))
    g.reset(np.arange(n), np.zeros(n, int), np.full(n, 200), proprio)
    return g


def test_a_pinned_snapshot_stays_where_it_is_reached():
    g = command()
    g.pin(60)
    for frame in (59, 60, 80):  # reached and passed: it stays
        g.advance(np.array([frame]), np.array([200]), np.zeros((1, 7)))
        assert g.snapshot[0] == 60
    free = command()
    free.advance(np.array([free.snapshot[0]]), np.array([200]), np.zeros((1, 7)))
    assert free.snapshot[0] > 0  # unpinned, a reached snapshot moves ahead


def test_a_switched_pattern_holds_after_resets_too():
    g = command("full")
    g.switch("contact")
    assert g.pattern == "contact" and (g.mask == pattern_mask("contact")).all()
    g.reset(np.arange(1), np.zeros(1, int), np.full(1, 200), np.zeros((1, 7)))
    assert (g.mask == pattern_mask("contact")).all()


def test_a_chain_records_each_goal_and_moves_on_after_its_hold(refs):
    g, last = command(), int(refs.lengths[0] - 1)
    assert g.queue_goal(ChainGoal(at=0.2, hold=0.04), last) == round(0.2 * last)
    assert g.queue_goal(ChainGoal(at=0.5, pattern="contact"), last) is None
    assert g.pinned and len(g.queue) == 1
    state, _ = refs.state(np.zeros(1, int), np.array([round(0.2 * last)]))
    frame = float(round(0.2 * last))
    assert g.chain_step(state, refs, np.zeros(1, int), frame - 1, last) is None  # not yet
    assert g.chain_step(state, refs, np.zeros(1, int), frame, last) is None  # holding
    assert g.reached[0]["error_cm"] == pytest.approx(0.0, abs=1e-6)  # on the reference
    assert g.chain_step(state, refs, np.zeros(1, int), frame, last) == round(0.5 * last)
    assert g.current.pattern == "contact" and g.pattern == "contact" and not g.queue
    g.switch("trajectory")  # a pattern switch drops the chain and the pin
    assert g.current is None and not g.pinned and len(g.reached) == 1


def test_the_runner_takes_goal_keys(stage2_run, clip_file, tmp_path):
    from contract.policy import Policy
    from contract.runner import PolicyRunner
    from robots.clip import load_clip
    from training.export import export_latent

    export_latent(stage2_run, tmp_path / "s2.onnx", steps=4)
    runner = PolicyRunner(Policy.load(tmp_path / "s2.onnx"), load_clip(clip_file),
                          np.random.default_rng(0), pattern="full")  # fmt: skip
    target = round(0.5 * runner.last)
    assert runner.goal_key("5")
    assert runner.goals.snapshot[0] == target and runner.goals.pinned
    assert runner.frame == target - HZ  # the clock aims 1 s before the goal
    assert runner.goal_key("7", chain=True) and len(runner.goals.queue) == 1
    assert runner.goal_key("g") and runner.goals.pattern != "snapshot"
    assert not runner.goals.queue and not runner.goal_key("x")
