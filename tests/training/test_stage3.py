"""Stage 3 fine-tuning: the environment split, one PPO + preservation update, a
2-process distributed update (gloo) keeping ranks identical, and the CLI with resume,
evaluation, export and sim2sim with a goal chain."""

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from contract.goals.masks import NUM_TOKENS
from contract.observations import proprioception
from training import rewards as R
from training.evaluate import load_stage2
from training.inbetween import InbetweenConfig
from training.ppo import gaussian_log_prob, surrogate_loss
from training.stage3 import (
    Stage3,
    Stage3Config,
    preserve_masks,
    split,
    stage3_config_dict,
    train,
)

REPO = Path(__file__).resolve().parents[2]


def tiny(stage2_run, **kw) -> Stage3Config:
    base = Stage3Config(init=str(stage2_run), num_envs=8, threads=1, steps_per_iter=6, epochs=1,
                        mini_batches=2, critic_warmup_iters=0, critic_hidden=(16,),
                        task=InbetweenConfig(fallen_states=4, fallen_prob=0.5))  # fmt: skip
    return replace(base, **kw)


def test_split_of_the_simulations():
    assert split(Stage3Config(num_envs=8, preserve_share=0.25)) == (6, 2)
    assert split(Stage3Config(num_envs=8, preserve_share=0.0)) == (8, 0)
    for share in (0.01, 1.0):
        with pytest.raises(ValueError, match="leaves a group empty"):
            split(Stage3Config(num_envs=8, preserve_share=share))


def test_preservation_masks_are_trajectory_conditioned():
    masks = preserve_masks(Stage3Config().preserve_patterns)(np.random.default_rng(0), 500)
    assert masks[:, : NUM_TOKENS - 1].any(axis=2).all()  # preview tokens always visible
    with pytest.raises(ValueError, match="not training patterns"):
        preserve_masks(("dance",))


def flat(params) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def test_groups_rewards_and_one_update(stage2_run):
    task = InbetweenConfig(fallen_states=4, fallen_prob=0.5, tracking_share=0.3)
    run = Stage3(tiny(stage2_run, desired_kl=0.01, task=task, preserve_joint_noise=0.05))
    assert run.env.n == 6 and run.distill.env.n == 2
    assert run.distill.env.cfg.start_joint_noise == 0.05  # perturbed preservation starts
    assert run.env.cfg.start_joint_noise == 0.0  # in-betweening starts have their own
    assert run.distill.policy is run.policy  # one policy, two losses
    before = flat(run.parameters()).clone()
    batch = run.rollout()
    assert batch["reward"].shape == (6, 6) and batch["task"].shape == (6, 6, 1)
    assert batch["task"][0].any()  # fallen starts ask for the get-up token
    # The in-betweening group sees single-frame goals, or every token (tracking episodes).
    preview = batch["visible"][..., : NUM_TOKENS - 1]
    assert (preview.all(-1) | ~preview.any(-1)).all()
    logs = run.learn(batch, run.distill.rollout())
    assert {"value", "surrogate", "preserve", "action_std", "kl"} <= set(logs)
    assert logs["kl"] >= 0.0 and 0.0 < logs["learning_rate"] <= run.cfg.learning_rate
    after = flat(run.parameters())
    assert not torch.equal(before, after) and torch.isfinite(after).all()
    # A policy far from the one that collected the batch brakes the learning rate.
    run.log_std.data += 2.0
    braked = run.learn(batch, None)
    assert braked["kl"] > 0.02 and braked["learning_rate"] < run.cfg.learning_rate


def test_tracking_episodes_see_the_whole_reference_and_earn_the_tracking_reward(stage2_run):
    task = InbetweenConfig(fallen_prob=0.0, tracking_share=0.5, fallen_states=2)
    run = Stage3(tiny(stage2_run, task=task))
    env = run.env
    env.tracking[:] = np.arange(env.n) % 2 == 0
    run.goals.reset(np.arange(env.n), env.frame, run._last(), proprioception(run.obs))
    run._pin_tracking()
    tracked = run.goals.mask[env.tracking]
    assert tracked.all() and not run.goals.mask[~env.tracking, :-1].any()
    clip, snapshot = env.clip.copy(), run.goals.snapshot.copy()
    _, _, terminated, _, info = env.step(np.zeros((env.n, 29)))
    _, terms = run.rewards(info, terminated, clip, np.zeros(env.n, bool), snapshot)
    expected = R.tracking(info["terms"], env.cfg.rewards)
    np.testing.assert_allclose(terms["tracking"], np.where(env.was_tracking, expected, 0.0))
    assert (terms["tracking"][env.was_tracking] > 0).all()


def test_short_episodes_end_every_simulation_within_the_horizon(stage2_run):
    task = InbetweenConfig(fallen_prob=0.0, fallen_states=2, tracking_share=1.0)
    run = Stage3(tiny(stage2_run, task=task, episode_seconds=0.1))
    assert run.env.max_steps == round(0.1 * run.env.cfg.control_hz) < run.cfg.steps_per_iter
    batch = run.rollout()
    assert batch["done"].any(0).all()  # each one cut (or terminated) within the rollout
    # A tracking episode cut by the time limit counts as survived.
    assert 0 < run.stats["tracking_survived"] <= run.stats["tracking_episodes"]
    assert run.stats["tracking_episodes"] >= run.env.n
    assert Stage3(tiny(stage2_run, task=task)).env.max_steps > 10 * run.env.max_steps


def test_grouped_attempts_share_a_start_and_compare_within_the_group(stage2_run):
    task = InbetweenConfig(fallen_prob=0.3, fallen_states=2, tracking_share=0.3)
    run = Stage3(tiny(stage2_run, task=task, group_size=3, preserve_share=0.0, num_envs=6))
    run._group_starts()
    env = run.env
    for a in (env._qpos, env._qvel, env.clip, env.frame, env.tracking, env.getup,
              run.goals.snapshot, run.goals.mask, run.goals.history):  # fmt: skip
        np.testing.assert_array_equal(a[[0, 0]], a[[1, 2]])
        np.testing.assert_array_equal(a[[3, 3]], a[[4, 5]])
    batch = run.rollout()
    valid, done = batch["valid"], batch["done"]
    assert valid[0].all()  # an attempt is valid from the start up to its episode's end
    for i in range(env.n):
        ends = torch.nonzero(done[:, i]).flatten()
        if len(ends):
            assert valid[: ends[0] + 1, i].all() and not valid[ends[0] + 1 :, i].any()
    adv = batch["advantage"][0].reshape(2, 3)
    assert torch.allclose(adv.mean(1), torch.zeros(2), atol=1e-5)
    logs = run.learn(batch, None)
    assert "value" not in logs and np.isfinite(logs["surrogate"])
    with pytest.raises(ValueError, match="group_size"):
        Stage3(tiny(stage2_run, task=task, group_size=4, preserve_share=0.0, num_envs=6))


def test_latent_exploration_trains_the_prior_through_decoded_actions(stage2_run):
    run = Stage3(tiny(stage2_run, explore="latent", preserve_share=0.0))
    latent = run.policy.cfg.latent_dim
    assert run.log_std.shape == (latent,)
    batch = run.rollout()
    assert batch["action"].shape == (6, 8, latent) and batch["mean"].shape == (6, 8, latent)
    # The explored latent is what the environment got, decoded (checked on a fresh sample).
    state = run.env.index.from_backend(run.env.backend)
    history, tokens, visible, task = run._inputs(state)
    with torch.no_grad():
        z = run._mean(history, tokens, visible, task)
        decoded = run.policy.decode(history, z / z.norm(dim=-1, keepdim=True))
        np.testing.assert_allclose(run._joints(history, z), decoded, atol=1e-5)
    # PPO's surrogate reaches the prior only: the decoder is the preservation loss's.
    mb = {k: v.flatten(0, 1) for k, v in batch.items()}
    mean = run._mean(mb["history"], mb["tokens"], mb["visible"], mb["task"])
    log_prob = gaussian_log_prob(mb["action"], mean, run.log_std)
    surrogate_loss(log_prob, mb["log_prob"], mb["advantage"], 0.2).backward()
    assert all(p.grad is None for p in run.policy.decoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in run.policy.prior.parameters())
    logs = run.learn(batch, None)
    assert np.isfinite(logs["surrogate"]) and logs["action_std"] == pytest.approx(0.2, rel=0.01)
    with pytest.raises(ValueError, match="explore"):
        Stage3(tiny(stage2_run, explore="joints"))


def _rank(rank: int, world: int, port: int, stage2_run: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world))  # fmt: skip
    torch.set_num_threads(1)
    from training import distributed

    assert distributed.setup() == (rank, world)
    run = Stage3(tiny(Path(stage2_run), desired_kl=0.01), rank=rank)
    start = flat(run.parameters())
    batch = run.rollout()
    logs = run.learn(batch, run.distill.rollout())
    torch.save({"start": start, "end": flat(run.parameters()), "reward": batch["reward"],
                "logs": logs}, Path(out) / f"rank{rank}.pt")  # fmt: skip
    torch.distributed.destroy_process_group()


def test_a_chosen_expert_labels_the_preservation_group_and_the_evaluation(stage2_run, tmp_path):
    lift = str(REPO / "sim2sim/policies/stage1_lift.onnx")
    base, chosen = Stage3(tiny(stage2_run)), Stage3(tiny(stage2_run, expert=lift))
    assert chosen.distill.cfg.expert == lift and base.distill.cfg.expert != lift
    obs = chosen.distill.obs
    assert not np.allclose(chosen.distill.expert(obs), base.distill.expert(obs))
    # The evaluation compares against the expert the run chose, else Stage 2's.
    for run, want in ((chosen, lift), (base, load_stage2(stage2_run).expert)):
        (tmp_path / "config.json").write_text(json.dumps(stage3_config_dict(run.cfg)))
        assert load_stage2(tmp_path).expert == want
    with pytest.raises(FileNotFoundError, match=r"missing\.onnx does not exist"):
        Stage3(tiny(stage2_run, expert=str(tmp_path / "missing.onnx")))
    # A run folder fine-tuned with one labeller refuses to resume with another.
    for other in (chosen.cfg, replace(base.cfg, init=str(tmp_path))):
        with pytest.raises(ValueError, match="another Stage 2 run or expert"):
            train(other, tmp_path, quiet=True)


def test_two_process_update_keeps_ranks_identical(stage2_run, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_rank, args=(2, port, str(stage2_run), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{k}.pt", weights_only=True) for k in (0, 1))
    assert torch.equal(r0["start"], r1["start"])  # broadcast from rank 0
    assert not torch.equal(r0["reward"], r1["reward"])  # each rank simulated its own data
    assert not torch.equal(r0["start"], r0["end"])  # the update did something...
    assert torch.equal(r0["end"], r1["end"])  # ...the same everywhere (averaged gradients)
    # The adaptive learning rate reads the KL averaged over ranks: one rate everywhere.
    assert r0["logs"]["learning_rate"] == r1["logs"]["learning_rate"]


def test_cli_resume_eval_export_and_sim2sim_chain(stage2_run, tmp_path, clip):
    out = tmp_path / "s3"
    expert = load_stage2(stage2_run).expert  # named explicitly: the --expert option
    args = [sys.executable, "-m", "training", "stage3", "--init", str(stage2_run), "--out",
            str(out), "--num-envs", "8", "--threads", "1", "--steps-per-iter", "4",
            "--save-interval", "1", "--expert", expert]  # fmt: skip
    done = subprocess.run([*args, "--iterations", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*args, "--iterations", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "done: 2 iterations" in done.stdout, done.stderr
    assert torch.load(out / "checkpoint.pt", weights_only=True)["iteration"] == 2
    assert json.loads((out / "config.json").read_text())["expert"] == str(Path(expert).resolve())
    ev = subprocess.run([sys.executable, "-m", "training", "eval", str(out), "--task", "chain",
                         "inbetween"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ev.returncode == 0 and "| chain | Stage 3 |" in ev.stdout, ev.stderr
    assert "| inbetween | Stage 3 |" in ev.stdout
    for report in json.loads((out / "eval.json").read_text()):
        ended = report["student"]["terminations"]  # goal tasks end on falls only
        assert set(ended) <= {"fall"} and sum(ended.values()) <= report["student"]["attempts"]
    onnx_path = tmp_path / "stage3.onnx"
    ex = subprocess.run([sys.executable, "-m", "training", "export", str(out), "--out",
                         str(onnx_path)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ex.returncode == 0 and json.loads(ex.stdout.split("wrote")[0])["stage"] == 3
    from contract.policy import Policy

    policy = Policy.load(onnx_path)
    assert policy.metadata["g1hoi_stage"] == "3" and policy.goals.tasks == ("getup",)
    chain = tmp_path / "chain.json"
    chain.write_text(json.dumps([{"at": 0.2, "seconds": 0.5, "hold": 0.1},
                                 {"at": 0.3, "pattern": "contact", "seconds": 0.5}]))  # fmt: skip
    report = tmp_path / "s2s.json"
    s2s = subprocess.run(
        [sys.executable, str(REPO / "sim2sim/run_mujoco.py"), "--policy", str(onnx_path),
         "--motion", str(clip.save(tmp_path / "clip.npz")), "--goal-sequence", str(chain),
         "--report", str(report)], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert s2s.returncode == 0, s2s.stderr
    episode = json.loads(report.read_text())["episodes"][0]
    assert episode["survival_s"] > 0 and "goals" in episode
    assert not (episode["fell"] and episode["success"])  # standing up again is no success
    # A fall ends the chain early; otherwise each goal is reported where it fell due.
    assert [g["at"] for g in episode["goals"]] == [0.2, 0.3][: len(episode["goals"])]
