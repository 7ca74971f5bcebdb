"""Stage 2 distillation: the DAgger schedule, learning on a rollout, and the CLI run with
resume, with the bundled Stage 1 policy as the expert."""

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

from contract.observations import PROPRIO_SIZE
from tests.tiny import TINY_MODEL as TINY
from training.configs import EnvOverrides, LearningRate, Placement, Stage2Config
from training.runs import CHECKPOINT
from training.stage2 import Stage2, expert_share

REPO = Path(__file__).resolve().parents[2]
EXPERT = REPO / "tests/fixtures/stage1_synthetic.onnx"


def test_expert_share_decays_linearly_to_the_end_value():
    cfg = Stage2Config(expert_decay_iters=100)
    assert expert_share(cfg, 0) == 1.0 and expert_share(cfg, 50) == 0.5
    assert expert_share(cfg, 100) == 0.0 and expert_share(cfg, 500) == 0.0


def test_rollout_batch_and_learning_on_it(clip):
    cfg = Stage2Config(expert=str(EXPERT), placement=Placement(6, threads=1), steps_per_iter=5,
                       epochs=1, mini_batches=2, learning_rate=LearningRate(1e-3),
                       model=TINY)  # fmt: skip
    run = Stage2(cfg, [clip])
    batch = run.rollout()
    assert batch["history"].shape == (5, 6, cfg.goals.history, PROPRIO_SIZE)
    assert batch["expert_action"].shape == (5, 6, 29)
    assert not batch["same_episode"][0].any() and batch["same_episode"][1:].any()
    # The expert labels what it sees: the same observation gives the same label.
    obs = run.env.observation()
    assert np.allclose(run.expert(obs), run.expert(obs))
    first = run.learn(batch)["imitation"]
    for _ in range(30):
        last = run.learn(batch)["imitation"]
    assert last < 0.5 * first  # it fits the expert's labels


def test_student_rolls_out_its_deployed_action(clip):
    """With the expert's share at 0 the executed action is the deployment path's (prior
    mean and decoder), the one evaluated, exported and fine-tuned in Stage 3."""
    cfg = Stage2Config(expert=str(EXPERT), placement=Placement(4, threads=1), steps_per_iter=1,
                       expert_share_start=0.0, expert_share_end=0.0, model=TINY)  # fmt: skip
    run = Stage2(cfg, [clip])
    batch = run.rollout()
    with torch.inference_mode():
        deployed = run.policy.act(batch["history"][0], batch["tokens"][0],
                                  batch["visible"][0], torch.zeros(4, TINY.latent_dim))  # fmt: skip
    lived = run.env.steps == 1  # not reset after the step
    assert lived.any()
    expected = np.clip(deployed.numpy(), -run.env.cfg.action_clip, run.env.cfg.action_clip)
    assert np.allclose(run.env.last_action[lived], expected[lived], atol=1e-6)


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_action_noise_perturbs_the_executed_action_not_the_label(clip, noise):
    cfg = Stage2Config(expert=str(EXPERT), placement=Placement(8, threads=1), steps_per_iter=1,
                       action_noise=noise, model=TINY)  # fmt: skip
    run = Stage2(cfg, [clip])
    labels = run.expert(run.obs)  # the expert acts (share 1) and labels deterministically
    batch = run.rollout()
    assert np.allclose(batch["expert_action"][0].numpy(), labels, atol=1e-5)
    lived = run.env.steps == 1
    assert lived.sum() >= 4
    offset = run.env.last_action[lived] - labels[lived]
    assert offset.std() == pytest.approx(noise, abs=0.15)
    with pytest.raises(ValueError, match=r"action_noise -0\.1: a standard"):
        Stage2Config(action_noise=-0.1)


def test_episodes_end_after_episode_seconds(clip):
    cfg = Stage2Config(expert=str(EXPERT), placement=Placement(4, threads=1), steps_per_iter=6,
                       env=EnvOverrides(episode_seconds=0.1), model=TINY)  # fmt: skip
    run = Stage2(cfg, [clip])
    assert run.env.max_steps == 5  # 0.1 s at 50 Hz
    run.rollout()
    assert len(run.episode_steps) >= 4 and int(run.episode_steps.max()) <= 5
    with pytest.raises(ValueError, match="episode_seconds 0"):
        EnvOverrides(episode_seconds=0)


def test_rollout_goals_follow_the_pattern_probabilities(clip):
    from contract.goals.masks import pattern_mask

    cfg = Stage2Config(expert=str(EXPERT), placement=Placement(6, threads=1), steps_per_iter=2,
                       pattern_probs={"snapshot": 1.0, "full": 0.0}, model=TINY)  # fmt: skip
    masks = Stage2(cfg, [clip]).rollout()["mask"].numpy()
    assert (masks == pattern_mask("snapshot", 1)[None]).all()
    for probs, message in (({"dance": 1.0}, r"unknown goal patterns \['dance'\]"),
                           ({"full": 1.0, "snapshot": -0.1}, r"\['snapshot'\] have a prob"),
                           ({"full": 0.0}, "sum to 0")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            Stage2Config(pattern_probs=probs)


def test_deployment_physics_is_sim2sims(clip):
    from robots.g1.mjcf import STRICT
    from sim2sim.harness import Sim2SimSettings

    cfg = Stage2Config(expert=str(EXPERT), placement=Placement(4, threads=1), steps_per_iter=2,
                       env=EnvOverrides(physics="deployment"), model=TINY)  # fmt: skip
    run = Stage2(cfg, [clip])
    env, s2s = run.env, Sim2SimSettings()
    assert env.cfg.physics == STRICT == s2s.physics and env.decimation == 20
    r = env.cfg.randomization
    assert r.enabled and not r.model and r.sensor_noise == s2s.noise
    assert r.push_robot_velocity == r.push_object_velocity == r.joint_pos_noise == 0.0
    assert r.max_latency_s == s2s.latency_ms / 1e3 and int(env.latency.max()) <= 5
    run.rollout()
    expert = Stage2(replace(cfg, env=EnvOverrides()), [clip]).env.cfg
    assert expert.physics.timestep == 0.005 and expert.randomization.model


def check_exported_graph(path: Path, run_dir: Path):
    import onnx
    import onnxruntime as ort

    from contract import policy_file
    from contract.policy import Policy, PolicyError
    from training.runs import latent_config
    from training.stage2 import build_policy

    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["history", "tokens", "visible", "noise", "task"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["g1hoi_stage"] == "2" and meta["joint_names"].startswith("left_hip_pitch")
    exported = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    cfg, _ = latent_config(run_dir)

    class Env:  # the sizes build_policy reads
        cfg = type("C", (), {"future_offsets": (1, 2, 4, 16)})

    policy = build_policy(cfg, Env)
    count = {n: sum(p.numel() for p in getattr(policy, n).parameters())
             for n in ("prior", "decoder", "encoder", "recon")}  # fmt: skip
    assert exported >= count["prior"] + count["decoder"]
    assert exported < count["prior"] + count["decoder"] + 5000  # + normalization statistics
    assert count["encoder"] > 5000  # so the bound above really excludes it
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros([2, *i.shape[1:]], np.float32) for i in session.get_inputs()}
    assert session.run(None, feeds)[0].shape == (2, 29)
    policy = Policy.load(path)
    assert policy.goals.history == cfg.goals.history == 4 and policy.goals.latent_dim == 64
    meta["g1hoi_goal_components"] = "root_pos:3"
    with pytest.raises(PolicyError, match="goal layout"):
        policy_file.read(path, meta)


def check_sim2sim(path: Path, clip, clip_path: Path, tmp_path: Path):
    """The exported Stage 2 policy in the sim2sim harness: goals from the clip, keyboard
    snapshot goals."""
    from contract.policy import Policy
    from sim2sim.harness import Sim2Sim, Sim2SimSettings
    from sim2sim.teleop import GLFW, Teleop

    report = tmp_path / "s2s.json"
    out = subprocess.run(
        [sys.executable, str(REPO / "sim2sim/run_mujoco.py"), "--policy", str(path), "--motion",
         str(clip_path), "--goals", "snapshot", "--sample", "--report", str(report)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(report.read_text())["episodes"][0]["survival_s"] > 0
    sim = Sim2Sim(Policy.load(path), clip, Sim2SimSettings(goals="full"))
    sim.reset(0)
    t = Teleop(sim)
    t.key(GLFW["5"])
    target = round(0.5 * (sim.refs.lengths[0] - 1))
    assert sim.goals.snapshot[0] == target and sim.frame == target - 50
    assert sim.goals.pattern == "snapshot" and sim.goals.pinned
    for _ in range(60):
        t.tick()
    assert sim.frame == target and sim.goals.snapshot[0] == target  # stays on the goal
    # Chain mode queues the next goal behind the current one (reached after its hold).
    last = sim.refs.lengths[0] - 1
    t.key(GLFW["c"])
    t.key(GLFW["7"])
    assert sim.goals.queue and sim.goals.snapshot[0] == target
    for _ in range(20):
        t.tick()
    assert sim.goals.snapshot[0] == round(0.7 * last) and not sim.goals.queue
    assert len(sim.goals.reached) == 1 and sim.goals.reached[0]["error_cm"] >= 0
    t.key(GLFW["c"])
    t.key(GLFW["3"])  # mid-way to the goal: switches at once
    assert sim.goals.snapshot[0] == round(0.3 * last) and sim.goals.current.at == 0.3
    t.key(GLFW["g"])
    assert sim.goals.pattern == "trajectory" and not sim.goals.pinned


@pytest.mark.slow  # the whole command-line loop: train, resume, evaluate, export, sim2sim
def test_cli_runs_and_resumes(tmp_path, clip):
    clip_path = clip.save(tmp_path / "clip.npz")
    run = tmp_path / "run"
    args = [sys.executable, "-m", "training", "stage2", "--expert", str(EXPERT),
            "--motions", str(clip_path), "--placement.num-envs", "4", "--placement.threads",
            "1", "--steps-per-iter", "4", "--model.decoder-hidden", "32",
            "--saving.interval", "1", "--saving.keep-every", "2"]  # fmt: skip
    out = subprocess.run([*args, "--out", str(run), "--iterations", "2"], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert torch.load(run / CHECKPOINT, weights_only=True)["iteration"] == 2
    assert torch.load(run / "checkpoint_2.pt", weights_only=True)["iteration"] == 2
    out = subprocess.run([*args, "--out", str(run), "--iterations", "3"], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0 and "3 iterations done" in out.stdout
    assert torch.load(run / CHECKPOINT, weights_only=True)["iteration"] == 3
    assert not (run / "checkpoint_3.pt").exists()  # kept every 2 only
    # A fine-tune from the kept iteration 2 in another folder, at another rate: it goes on
    # from iteration 2 with the kept weights and the curve up to there.
    tune = tmp_path / "tune"
    out = subprocess.run([*args, "--out", str(tune), "--iterations", "3", "--init",
                          str(run / "checkpoint_2.pt"), "--learning-rate.start", "1e-4"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    tuned = torch.load(tune / CHECKPOINT, weights_only=True)
    assert tuned["iteration"] == 3 and sorted(tuned["curve"]["imitation"])[-1][0] == 3
    assert [lr for _, lr in tuned["curve"]["learning_rate"]] == [3e-4, 3e-4, 1e-4]
    # The evaluation suite on the tiny run: the table, the JSON, the expert beside "full".
    ev = subprocess.run(
        [sys.executable, "-m", "training", "evaluate", str(run), "--task", "full", "chain"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ev.returncode == 0, ev.stderr
    assert "| full | Stage 2 |" in ev.stdout and "| full | Stage 1 expert |" in ev.stdout
    reports = json.loads((run / "evaluation.json").read_text())
    assert [r["task"] for r in reports] == ["full", "chain"] and "expert" not in reports[1]
    for key in ("success_rate", "E_h_cm", "E_o_cm", "failure_rate", "goal_error_cm"):
        assert 0 <= reports[0]["student"][key] < 1e4
    # Export: prior + decoder only, deterministic and sampled inputs, parity checked.
    onnx_path = tmp_path / "stage2.onnx"
    ex = subprocess.run(
        [sys.executable, "-m", "training", "export", str(run), "--out", str(onnx_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ex.returncode == 0, ex.stderr
    check_exported_graph(onnx_path, run)
    check_sim2sim(onnx_path, clip, clip_path, tmp_path)
    wrong = subprocess.run(
        [sys.executable, "-m", "training", "evaluate", str(run), "--task", "dance"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert wrong.returncode == 2 and "unknown task" in wrong.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "training", "stage2", "--expert", str(EXPERT), "--out",
         str(tmp_path / "x")], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "--motions" in bad.stderr


def _stage2_rank(rank: int, world: int, port: int, clip_path: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world))  # fmt: skip
    torch.set_num_threads(1)
    from robots.clip import load_clip
    from training import stage2

    seen = {}
    learn = stage2.Stage2.learn

    def flat(policy) -> torch.Tensor:
        return torch.cat([p.detach().flatten() for p in policy.parameters()])

    def recorded(self, batch):
        seen.setdefault("start", flat(self.policy))
        seen["expert_action"] = batch["expert_action"]
        return learn(self, batch)

    stage2.Stage2.learn = recorded
    cfg = Stage2Config(expert=str(EXPERT), iterations=1, placement=Placement(2, threads=1),
                       steps_per_iter=3, epochs=1, mini_batches=1, model=TINY)  # fmt: skip
    run = stage2.train(cfg, Path(out) / "run", [load_clip(clip_path)], quiet=True)
    torch.save({**seen, "end": flat(run.policy)}, Path(out) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_two_process_distillation_keeps_ranks_identical(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clip_file = REPO / "sim2sim/policies/stage1_lift_clip.npz"
    mp.spawn(_stage2_rank, args=(2, port, str(clip_file), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{k}.pt", weights_only=True) for k in (0, 1))
    assert torch.equal(r0["start"], r1["start"])  # rank 0's parameters everywhere
    assert not torch.equal(r0["expert_action"], r1["expert_action"])  # own simulations
    assert not torch.equal(r0["start"], r0["end"]) and torch.equal(r0["end"], r1["end"])
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
