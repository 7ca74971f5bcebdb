import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from training.configs import LearningRate, Placement, PpoConfig, Saving, Stage1Config
from training.curves import plot_curves
from training.env import EnvConfig
from training.evaluate import evaluate_expert
from training.expert import expert_env_config
from training.export import export_run
from training.runs import CHECKPOINT
from training.stage1 import train

TINY = dict(hidden_dims=(32, 32), steps_per_env=4, learning_epochs=1, mini_batches=1)
FOUR = Placement(num_envs=4, threads=1)


def config(iterations: int, **kw) -> Stage1Config:
    return Stage1Config(placement=FOUR, ppo=PpoConfig(**TINY), iterations=iterations,
                        saving=Saving(interval=1), **kw)  # fmt: skip


def test_train_resume_and_play(tmp_path, clip):
    clip_path = clip.save(tmp_path / "clip.npz")
    run = tmp_path / "run"
    cfg = config(2, motions=(str(clip_path),))
    runner = train(cfg, run, [clip], quiet=True)
    assert runner.current_learning_iteration == 1  # iterations 0 and 1 done
    state = torch.load(run / CHECKPOINT, weights_only=True)
    assert state["iter"] == 1
    before = {k: v.clone() for k, v in state["actor_state_dict"].items()}
    # Resuming with a larger total continues at iteration 2, from the saved weights.
    cfg3 = replace(cfg, iterations=3)
    runner = train(cfg3, run, [clip], quiet=True)
    assert torch.load(run / CHECKPOINT, weights_only=True)["iter"] == 2
    after = torch.load(run / CHECKPOINT, weights_only=True)["actor_state_dict"]
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert sorted(p.name for p in run.iterdir() if p.suffix == ".tmp") == []
    report = evaluate_expert(run, episodes=1, video=tmp_path / "play.mp4")
    assert set(report) >= {"success_rate", "E_h_cm", "E_o_cm", "fall_rate"}
    assert 0 <= report["success_rate"] <= 1 and np.isfinite(report["E_h_cm"])
    assert (tmp_path / "play.mp4").stat().st_size > 0
    noisy = evaluate_expert(run, action_noise=1.0)
    assert noisy["E_h_cm"] != report["E_h_cm"]  # noise reaches it
    # the curve continues across the resume, one point per iteration
    curve = torch.load(run / CHECKPOINT, weights_only=True)["curve"]
    assert [i for i, _ in curve["loss/value"]] == [0, 1, 2]
    png = plot_curves(run, tmp_path / "curves.png")
    assert png.stat().st_size > 1000


def test_stepped_learning_rate_and_kept_checkpoints(tmp_path, clip):
    ppo = PpoConfig(**TINY, learning_rate=LearningRate(3e-4, end=1e-4, decay_from=2, end_at=2))
    run = tmp_path / "run"
    cfg = Stage1Config(placement=FOUR, ppo=ppo, iterations=2,
                       saving=Saving(interval=2, keep_every=2),
                       motions=(str(clip.save(tmp_path / "clip.npz")),))  # fmt: skip
    runner = train(cfg, run, [clip], quiet=True)
    # Iterations 0 and 1 ran at the early rate; the next one (2) is late.
    assert runner.alg.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert sorted(p.name for p in run.glob("checkpoint_*.pt")) == ["checkpoint_0.pt"]
    # The saved optimizer state holds the early rate; resuming applies the config's rate.
    saved = torch.load(run / "checkpoint_0.pt", weights_only=True)
    assert saved["optimizer_state_dict"]["param_groups"][0]["lr"] == pytest.approx(3e-4)
    runner = train(replace(cfg, iterations=3), run, [clip], quiet=True)
    assert runner.alg.learning_rate == pytest.approx(1e-4)
    assert sorted(p.name for p in run.glob("checkpoint_*.pt")) == [
        "checkpoint_0.pt",
        "checkpoint_2.pt",
    ]
    # exported from kept checkpoints: one as it is, two with their weights averaged, a
    # file (another run's, e.g. the one this run continues) beside a kept iteration
    first, second = (torch.load(run / f"checkpoint_{i}.pt", weights_only=True)["actor_state_dict"]
                     for i in (0, 2))  # fmt: skip
    mean = (first["mlp.0.bias"] + second["mlp.0.bias"]) / 2
    for i, (kept, expected) in enumerate((((0,), first["mlp.0.bias"]), ((0, 2), mean),
                                          ((str(run / "checkpoint_2.pt"), 0), mean))):  # fmt: skip
        out = tmp_path / f"policy_{i}.onnx"
        export_run(run, out, steps=2, checkpoints=kept)
        bias = next(t for t in onnx.load(str(out)).graph.initializer if tuple(t.dims) == (32,))
        assert torch.allclose(torch.from_numpy(numpy_helper.to_array(bias).copy()), expected)
    with pytest.raises(FileNotFoundError, match="kept no checkpoint of iteration 1 "):
        export_run(run, tmp_path / "x.onnx", steps=2, checkpoints=(0, 1))


def test_resume_refuses_another_environment(tmp_path, clip):
    run = tmp_path / "run"
    train(config(1), run, [clip], quiet=True)
    other = config(1, env=EnvConfig(episode_seconds=3.0))
    with pytest.raises(
        ValueError, match=r"other settings \(config.env.episode_seconds: 10.0 -> 3.0\).*--init"
    ):
        train(other, run, [clip], quiet=True)
    # where and how long it runs may change
    train(replace(config(2), placement=Placement(num_envs=4, threads=2)), run, [clip], quiet=True)


def test_kill_and_resume_from_the_cli(tmp_path, clip):
    """Killing the training process mid-run and starting it again continues from the
    last checkpoint with the same iteration count."""
    clip_path = clip.save(tmp_path / "clip.npz")
    run = tmp_path / "run"
    args = [sys.executable, "-m", "training", "stage1", "--motions", str(clip_path),
            "--out", str(run), "--placement.num-envs", "4", "--placement.threads", "1",
            "--ppo.hidden-dims", "32", "32", "--ppo.steps-per-env", "4",
            "--saving.interval", "1", "--env.start-joint-noise", "0.05"]  # fmt: skip
    proc = subprocess.Popen(
        [*args, "--iterations", "1000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(600):  # wait for a few checkpoints, then kill it hard
            if (run / CHECKPOINT).is_file() and torch.load(run / CHECKPOINT, weights_only=True)[
                "iter"
            ] >= 3:
                break
            proc.wait(timeout=0.1) if proc.poll() is not None else __import__("time").sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    done = torch.load(run / CHECKPOINT, weights_only=True)["iter"]
    assert done >= 3
    out = subprocess.run(
        [*args, "--iterations", str(done + 3)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert torch.load(run / CHECKPOINT, weights_only=True)["iter"] == done + 2
    assert f"{done + 3} iterations done" in out.stdout
    saved = json.loads((run / "config.json").read_text())
    assert saved["stage"] == 1 and saved["config"]["iterations"] == done + 3
    assert saved["config"]["env"]["start_joint_noise"] == 0.05
    # A student labelled by this expert gets its physics, not its perturbed starts.
    assert expert_env_config(run)[0].start_joint_noise == 0.0


def test_run_folder_records_this_projects_code_state(tmp_path, clip, monkeypatch, capsys):
    """The run folder records this repository's commit and diff (not rsl-rl's, which is
    an installed package), and outside a git checkout nothing and no empty folder."""
    run = tmp_path / "run"
    train(config(1), run, [clip], quiet=True)
    diffs = list((run / "git").glob("*.diff"))
    assert len(diffs) == 1 and diffs[0].read_text().startswith("--- git commit ---")

    import git

    def no_repository(*args, **kwargs):
        raise git.InvalidGitRepositoryError("not a checkout")

    monkeypatch.setattr(git, "Repo", no_repository)
    elsewhere = tmp_path / "elsewhere"
    train(config(1), elsewhere, [clip], quiet=True)
    assert not (elsewhere / "git").exists()
    assert "Could not find git repository" not in capsys.readouterr().out


def test_export_writes_into_the_run_folder_by_default(tmp_path, clip, monkeypatch):
    from training.__main__ import parse

    clip_path = clip.save(tmp_path / "clip.npz")
    run = tmp_path / "run"
    train(config(1, motions=(str(clip_path),)), run, [clip], quiet=True)
    monkeypatch.chdir(tmp_path)
    parse(["export", str(run)]).run_()
    assert (run / "policy.onnx").stat().st_size > 0
    assert not (tmp_path / "policy.onnx").exists()


def test_resume_from_weights_without_optimizer_state(tmp_path, clip):
    run = tmp_path / "run"
    train(config(1), run, [clip], quiet=True)
    state = torch.load(run / CHECKPOINT, weights_only=True)
    del state["optimizer_state_dict"]
    torch.save(state, run / CHECKPOINT)
    # Resumed from the weights: iteration 0 is done, nothing is left to run.
    runner = train(config(1), run, [clip], quiet=True)
    assert runner.current_learning_iteration == 1
    actor = runner.alg._raw_actor.state_dict()
    for key, value in state["actor_state_dict"].items():
        assert torch.equal(actor[key], value), key
    runner = train(config(2), run, [clip], quiet=True)  # and it trains on from there
    after = torch.load(run / CHECKPOINT, weights_only=True)
    assert after["iter"] == 1 and "optimizer_state_dict" in after


def test_torchrun_without_gpus_is_refused_by_name(tmp_path, clip, monkeypatch):
    """rsl-rl's multi-process training is NCCL on one GPU per process."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match=r"--placement.backend warp --placement.device cuda"):
        train(Stage1Config(placement=Placement(num_envs=2)), tmp_path, [clip], quiet=True)


def test_exploration_noise_is_clamped_to_its_range(tmp_path, clip):
    ppo = PpoConfig(**TINY, init_noise_std=1.0, noise_std_range=(0.2, 0.3))
    cfg = Stage1Config(placement=FOUR, ppo=ppo, iterations=1)
    runner = train(cfg, tmp_path / "run", [clip], quiet=True)
    obs = runner.env.get_observations()
    actor = runner.alg.actor
    mean = actor(obs)
    draws = torch.stack([actor(obs, stochastic_output=True) for _ in range(2000)])
    std = (draws - mean).std(dim=(0, 1))
    # initialized at 1.0, every joint explores at the range's upper bound
    assert std.shape == (29,) and torch.allclose(std, torch.full((29,), 0.3), atol=0.02)
    with pytest.raises(ValueError, match="noise_std_range"):
        PpoConfig(noise_std_range=(0.5, 0.2))


def test_a_nan_reward_stops_training_before_the_iteration_is_saved(tmp_path, clip, monkeypatch):
    """NaN checks are one host read per iteration (not rsl-rl's four per step) and still
    stop the run before its checkpoint takes the diverged update."""
    from training.env import HoiEnv

    step = HoiEnv.step

    def diverging(self, action):
        obs, reward, *rest = step(self, action)
        reward[1] = np.nan
        return (obs, reward, *rest)

    monkeypatch.setattr(HoiEnv, "step", diverging)
    with pytest.raises(ValueError, match="NaN"):
        train(config(1), tmp_path / "run", [clip], quiet=True)
    assert not (tmp_path / "run" / CHECKPOINT).exists()


def test_ended_episodes_are_logged_as_they_ended(tmp_path, clip, monkeypatch):
    """The episode returns and lengths kept on the device until each iteration's log
    are those of the episodes that ended, in order."""
    from training.stage1 import TorchVecEnv

    seen = []
    step = TorchVecEnv.step

    def recording(self, actions):
        out = step(self, actions)
        seen.append((out[1].clone(), out[2].clone()))
        return out

    monkeypatch.setattr(TorchVecEnv, "step", recording)
    cfg = config(2, env=EnvConfig(episode_seconds=0.05))
    runner = train(cfg, tmp_path / "run", [clip], quiet=True)
    total, length, returns, lengths = torch.zeros(4), torch.zeros(4), [], []
    for reward, done in seen:
        total, length = total + reward, length + 1
        returns += total[done].tolist()
        lengths += length[done].tolist()
        total[done], length[done] = 0.0, 0.0
    assert len(lengths) > 4  # episodes of 2-3 steps in 8
    assert list(runner.logger.lenbuffer) == lengths
    np.testing.assert_allclose(list(runner.logger.rewbuffer), returns, rtol=1e-6)
