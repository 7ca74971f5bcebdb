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

from contract.goals.masks import NUM_TOKENS, sample_masks
from training import runs
from training.configs import Placement, Stage3Config
from training.inbetween import InbetweenConfig
from training.runs import latent_config
from training.stage3 import Stage3, preserve_probs, split, train

REPO = Path(__file__).resolve().parents[2]


def tiny(stage2_run, **kw) -> Stage3Config:
    base = Stage3Config(init=str(stage2_run), placement=Placement(8, threads=1), steps_per_iter=6,
                        epochs=1, mini_batches=2, critic_warmup_iters=0, critic_hidden=(16,),
                        task=InbetweenConfig(fallen_states=4, fallen_prob=0.5))  # fmt: skip
    return replace(base, **kw)


def test_split_of_the_simulations():
    eight = Placement(8)
    assert split(Stage3Config(placement=eight, preserve_share=0.25)) == (6, 2)
    assert split(Stage3Config(placement=eight, preserve_share=0.0)) == (8, 0)
    for share in (0.01, 1.0):
        with pytest.raises(ValueError, match="leaves a group empty"):
            split(Stage3Config(placement=eight, preserve_share=share))


def test_preservation_masks_are_trajectory_conditioned():
    probs = preserve_probs(Stage3Config().preserve_patterns)
    masks = sample_masks(np.random.default_rng(0), 500, probs)
    assert masks[:, : NUM_TOKENS - 1].any(axis=2).all()  # preview tokens always visible
    with pytest.raises(ValueError, match="not training patterns"):
        preserve_probs(("dance",))


def flat(params) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def test_groups_rewards_and_one_update(stage2_run):
    run = Stage3(tiny(stage2_run, init_std=0.3))
    assert run.env.n == 6 and run.distill.env.n == 2
    assert run.distill.policy is run.policy  # one policy, two losses
    assert torch.allclose(run.log_std.exp(), torch.full((29,), 0.3))  # the initial noise
    before = flat(run.parameters()).clone()
    batch = run.rollout()
    assert batch["reward"].shape == (6, 6) and batch["task"].shape == (6, 6, 1)
    assert batch["task"][0].any()  # fallen starts ask for the get-up token
    # The in-betweening group sees single-frame goals: the snapshot token alone.
    assert not batch["visible"][..., : NUM_TOKENS - 1].any()
    # Exploration around the deployed action at the learned noise.
    assert 0.2 < float((batch["action"] - batch["mean"]).std()) < 0.4
    logs = run.learn(batch, run.distill.rollout())
    assert {"value", "surrogate", "preserve", "action_std", "kl"} <= set(logs)
    assert logs["kl"] >= 0.0 and logs["learning_rate"] == run.cfg.learning_rate.start
    after = flat(run.parameters())
    assert not torch.equal(before, after) and torch.isfinite(after).all()


def test_get_up_rewards_read_the_step_data(stage2_run):
    run = Stage3(tiny(stage2_run))
    env = run.env
    clip, snapshot, mask = env.clip.copy(), run.goals.snapshot.copy(), run.goals.mask[:, -1:]
    _, _, terminated, _, info = env.step(np.zeros((env.n, 29)))
    _, terms = run.rewards(info, terminated, clip, np.ones(env.n, bool), snapshot, mask)
    getup = info["getup"]
    assert getup.any() and (~getup).any()
    # Upright and CoM terms only while getting up; goals and grasp only otherwise.
    for k in ("upright", "com_height"):
        assert (terms[k][~getup] == 0).all() and (terms[k][getup] > 0).all()
    assert (terms["success"][getup] == 0).all() and (terms["grasp"][getup] == 0).all()
    com = info["robot_com"][:, 2] / run.cfg.rewards.standing_com
    np.testing.assert_allclose(terms["com_height"][getup], np.clip(com, 0, 1)[getup])


def test_the_critic_warms_up_alone(stage2_run):
    run = Stage3(tiny(stage2_run, critic_warmup_iters=1))
    policy = flat(run.policy.parameters()).clone()
    critic = flat(run.critic.parameters()).clone()
    logs = run.learn(run.rollout(), run.distill.rollout())
    assert set(logs) == {"value", "action_std", "learning_rate"}  # no policy loss yet
    assert torch.equal(policy, flat(run.policy.parameters()))
    assert not torch.equal(critic, flat(run.critic.parameters()))
    run.iteration = 1  # warm: the policy moves from now on
    assert "surrogate" in run.learn(run.rollout(), run.distill.rollout())
    assert not torch.equal(policy, flat(run.policy.parameters()))


def test_preservation_weight_scales_the_distillation_loss(stage2_run):
    """The same batches and seeds: the update differs by the preservation term alone."""
    moved = {}
    for weight in (0.0, 1.0, 100.0):
        run = Stage3(tiny(stage2_run, preserve_weight=weight))
        before = flat(run.policy.parameters()).clone()
        torch.manual_seed(0)
        logs = run.learn(run.rollout(), run.distill.rollout())
        moved[weight] = float((flat(run.policy.parameters()) - before).norm())
        assert logs["preserve"] > 0
    assert moved[0.0] != moved[1.0] != moved[100.0]


def _rank(rank: int, world: int, port: int, stage2_run: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world))  # fmt: skip
    torch.set_num_threads(1)
    from training import distributed

    assert distributed.setup() == (rank, world)
    run = Stage3(tiny(Path(stage2_run)), rank=rank)
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
    parent = runs.record(stage2_run)
    for i, (run, want) in enumerate(((chosen, lift), (base, latent_config(stage2_run)[0].expert))):
        runs.write(tmp_path / str(i), 3, run.cfg, parent=parent)
        assert runs.resolved(latent_config(tmp_path / str(i))[0].expert) == runs.resolved(want)
    with pytest.raises(FileNotFoundError, match=r"missing\.onnx does not exist"):
        Stage3(tiny(stage2_run, expert=str(tmp_path / "missing.onnx")))
    # A run folder fine-tuned with one labeller refuses to resume with another.
    with pytest.raises(ValueError, match=r"other settings \(config.expert: "):
        train(base.cfg, tmp_path / "0", quiet=True)


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
    # The logged KL is averaged over ranks: one value everywhere.
    assert r0["logs"]["kl"] == r1["logs"]["kl"]


@pytest.mark.slow  # the whole command-line loop: train, resume, evaluate, export, sim2sim
def test_cli_resume_eval_export_and_sim2sim_chain(stage2_run, tmp_path, clip):
    out = tmp_path / "s3"
    expert = latent_config(stage2_run)[0].expert  # named explicitly: the --expert option
    args = [sys.executable, "-m", "training", "stage3", "--init", str(stage2_run), "--out",
            str(out), "--placement.num-envs", "8", "--placement.threads", "1",
            "--steps-per-iter", "4", "--saving.interval", "1", "--expert", expert]  # fmt: skip
    done = subprocess.run([*args, "--iterations", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*args, "--iterations", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "2 iterations done" in done.stdout, done.stderr
    assert torch.load(out / "checkpoint.pt", weights_only=True)["iteration"] == 2
    saved = json.loads((out / "config.json").read_text())
    assert saved["stage"] == 3 and saved["config"]["expert"] == runs.stored(expert)
    ev = subprocess.run([sys.executable, "-m", "training", "evaluate", str(out), "--task", "chain",
                         "inbetween"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ev.returncode == 0 and "| chain | Stage 3 |" in ev.stdout, ev.stderr
    assert "| inbetween | Stage 3 |" in ev.stdout
    for report in json.loads((out / "evaluation.json").read_text()):
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
