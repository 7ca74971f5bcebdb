"""The run folder: typed configs read back, resume checks, clips by checksum, and a run
stopped by its budget resumed from its committed form in another folder."""

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from training import runs
from training.configs import (
    STAGES,
    EnvOverrides,
    LearningRate,
    Placement,
    Stage1Config,
    Stage2Config,
    Stage3Config,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_configs_read_back_typed(stage):
    cfg = STAGES[stage]()
    if isinstance(cfg, Stage1Config):
        cfg = replace(cfg, motions=("a.npz",), placement=Placement(num_envs=3))
    back = runs.from_dict(STAGES[stage], runs.to_dict(cfg))
    assert back == cfg  # tuples, nested configs, None and dicts as they were
    with pytest.raises(ValueError, match="has no setting replay"):
        runs.from_dict(STAGES[stage], {**runs.to_dict(cfg), "replay": 2})


def test_the_stage_is_recorded_and_read(tmp_path):
    cfg = Stage3Config(init="runs/x", env=EnvOverrides(seed=3))
    runs.write(tmp_path, 3, cfg, parent={"stage": 2, "config": runs.to_dict(Stage2Config())})
    stage, back = runs.read(tmp_path)
    assert stage == 3 and back == cfg
    (tmp_path / runs.CONFIG).write_text(json.dumps({"config": {}}))
    with pytest.raises(ValueError, match="records no training stage"):
        runs.read(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a training run"):
        runs.read(tmp_path / "nothing")


def test_differences_name_every_changed_leaf_by_its_path():
    saved = {"env": {"num_envs": 4, "randomization": {"push": 0.3}, "gone": 1}}
    now = {"env": {"num_envs": 4, "randomization": {"push": 0.5}, "new": 2}}
    assert runs.differences(saved, now) == [
        "env.gone: 1 -> None",
        "env.randomization.push: 0.3 -> 0.5",
    ]  # "new" was added after the run was saved: not compared
    assert runs.differences(saved, saved) == []


def test_a_resumed_run_may_change_only_placement_length_and_saving(tmp_path):
    cfg = Stage2Config(expert="e.onnx")
    runs.write(tmp_path, 2, cfg)
    runs.write(tmp_path, 2, replace(cfg, iterations=5, placement=Placement(threads=1)))
    with pytest.raises(ValueError, match=r"other settings \(config.learning_rate.start: "):
        runs.write(tmp_path, 2, replace(cfg, learning_rate=LearningRate(1e-4)))


def test_paths_inside_the_project_are_stored_relative_to_it(tmp_path):
    assert runs.stored(REPO / "sim2sim/policies/stage1_lift.onnx") == (
        "sim2sim/policies/stage1_lift.onnx")  # fmt: skip
    assert runs.resolved("sim2sim/policies") == REPO / "sim2sim/policies"
    assert runs.stored(tmp_path / "a.npz") == str(tmp_path / "a.npz")


def test_learning_rate_schedules():
    assert LearningRate(3e-4).at(500, 1000) == 3e-4
    step = LearningRate(3e-4, end=1e-4, decay_from=1800, end_at=1800)
    assert step.at(1799, 2600) == 3e-4 and step.at(1800, 2600) == 1e-4
    linear = LearningRate(3e-4, end=1e-4, decay_from=100)
    assert linear.at(100, 300) == pytest.approx(3e-4)
    assert linear.at(200, 300) == pytest.approx(2e-4)
    assert linear.at(300, 300) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="adaptive"):
        LearningRate(1e-3, end=1e-4, adaptive=True)


def test_budget_and_curve_helpers():
    with pytest.raises(ValueError, match="--minutes 0"):
        runs.Deadline(0)
    assert not runs.Deadline(None).up() and runs.Deadline(1e-9).up()
    curve = runs.Curve({"loss": [[0, 1.0], [1, 2.0], [2, 3.0]]}, upto=1)
    curve.add(2, {"loss": 4.0})
    assert curve.state() == {"loss": [[0, 1.0], [1, 2.0], [2, 4.0]]}


def _stage1_command(clip: Path, out: Path, iterations: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "training", "stage1", "--motions", str(clip), "--out",
            str(out), "--iterations", str(iterations), "--placement.num-envs", "4",
            "--placement.threads", "1", "--ppo.hidden-dims", "32", "32",
            "--ppo.steps-per-env", "4", "--ppo.learning-rate.start", "3e-4",
            "--ppo.learning-rate.no-adaptive", *extra]  # fmt: skip


def test_a_run_stopped_by_its_budget_resumes_from_its_committed_form(tmp_path, clip):
    """``--minutes`` ends the run with a checkpoint; its config and checkpoint, copied
    alone to a fresh folder (what a commit keeps), resume with the same command at the
    next iteration, the same settings and the curve so far."""
    clip_path = clip.save(tmp_path / "clip.npz")
    run = tmp_path / "first"
    out = subprocess.run(_stage1_command(clip_path, run, 5, "--minutes", "1e-9"),
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    state = torch.load(run / runs.CHECKPOINT, weights_only=True)
    assert state["iter"] == 0 and [i for i, _ in state["curve"]["loss/value"]] == [0]
    fresh = tmp_path / "clone" / "run"
    fresh.mkdir(parents=True)
    for name in (runs.CONFIG, runs.CHECKPOINT):
        shutil.copy(run / name, fresh / name)
    out = subprocess.run(_stage1_command(clip_path, fresh, 3), capture_output=True, text=True,
                         timeout=300, cwd=tmp_path / "clone")  # fmt: skip
    assert out.returncode == 0, out.stderr
    after = torch.load(fresh / runs.CHECKPOINT, weights_only=True)
    assert after["iter"] == 2 and [i for i, _ in after["curve"]["loss/value"]] == [0, 1, 2]
    assert after["curve"]["loss/value"][0] == state["curve"]["loss/value"][0]
    saved = json.loads((fresh / runs.CONFIG).read_text())
    assert saved["config"]["ppo"]["learning_rate"]["start"] == 3e-4
    assert saved["clips"] == [runs.clip_record(clip_path)]


def test_init_starts_a_new_folder_from_another_runs_checkpoint(stage2_run, clip, tmp_path):
    """``--init``: the kept weights, optimizer state, iteration and curve, with the new
    run's own settings from there on (no copying of files by hand)."""
    from training.stage2 import train

    _, parent = runs.read(stage2_run)
    tune = replace(parent, init=str(stage2_run / runs.CHECKPOINT), iterations=2,
                   learning_rate=LearningRate(1e-4))  # fmt: skip
    run = train(tune, tmp_path / "tune", [clip], quiet=True)
    state = torch.load(tmp_path / "tune" / runs.CHECKPOINT, weights_only=True)
    assert run.iteration == state["iteration"] == 2
    assert state["curve"]["learning_rate"] == [[1, 3e-4], [2, 1e-4]]
    assert runs.read(tmp_path / "tune")[1].init == runs.stored(stage2_run / runs.CHECKPOINT)


def test_paths_given_from_another_folder_are_recorded_once(clip, monkeypatch, tmp_path):
    """A clip named relative to the working folder is recorded relative to the project
    root, and the run reads it back from there."""
    from tests import tiny
    from training.stage1 import train

    monkeypatch.chdir(REPO / "sim2sim")
    run = tmp_path / "run"
    train(tiny.stage1("policies/stage1_lift_clip.npz"), run, quiet=True)
    assert runs.read(run)[1].motions == ("sim2sim/policies/stage1_lift_clip.npz",)
    assert runs.record(run)["clips"] == [runs.clip_record(REPO / runs.read(run)[1].motions[0])]


def test_averaged_checkpoints_are_the_mean_of_their_weights():
    a = {"actor_state_dict": {"w": torch.tensor([1.0, 2.0]), "count": torch.tensor(3)},
         "policy": {"b": torch.tensor([0.0])}, "iter": 5, "optimizer_state_dict": {}}  # fmt: skip
    b = {"actor_state_dict": {"w": torch.tensor([3.0, 6.0]), "count": torch.tensor(7)},
         "policy": {"b": torch.tensor([1.0])}, "iter": 9, "optimizer_state_dict": {}}  # fmt: skip
    out = runs.averaged([a, b])
    assert torch.equal(out["actor_state_dict"]["w"], torch.tensor([2.0, 4.0]))
    assert torch.equal(out["policy"]["b"], torch.tensor([0.5]))
    # counters and bookkeeping are the last one's; no optimizer state to resume from
    assert out["actor_state_dict"]["count"] == 7 and out["iter"] == 9
    assert "optimizer_state_dict" not in out
    b["actor_state_dict"]["w"] = torch.zeros(3)
    with pytest.raises(ValueError, match=r"shape of 'actor_state_dict\.w'"):
        runs.averaged([a, b])
