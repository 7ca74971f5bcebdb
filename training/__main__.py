"""Training entry points: ``python -m training --help``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro


@dataclass
class Stage1:
    """Train the Stage 1 tracking expert with PPO (resumes if RUN_DIR has a checkpoint)."""

    motions: tuple[str, ...]
    """G1 motion clips (.npz) or folders of them (e.g. the output of python -m retarget)."""
    out: Path
    """Run directory: config, checkpoint, TensorBoard logs."""
    num_envs: int = 256
    iterations: int = 1000
    """Total PPO iterations of the run (a resumed run continues up to this number)."""
    threads: int = 0
    """Physics threads (0: all cores)."""
    control_hz: float = 50.0
    """Policy rate (physics runs at 200 Hz; the InterMimic paper uses 30 Hz)."""
    hidden: tuple[int, ...] = (1024, 1024, 512)
    """Actor and critic MLP hidden sizes."""
    gains: str = "tracking"
    """PD gain profile of robots.g1.gains: tracking (10 Hz, zeta 2) or stand (30 Hz, zeta 1)."""
    steps_per_env: int = 24
    save_interval: int = 10
    seed: int = 0
    randomize: bool = True
    """Robustness randomization (masses, friction, gains, delay, pushes, start noise)."""
    action_base: str = "default"
    """default: actions offset the default pose; reference: they offset the clip's next
    pose, so the policy learns corrections to the motion (much faster to train)."""
    learning_rate: float = 1e-3
    schedule: str = "adaptive"
    """adaptive: the rate follows the KL to 0.01 (rsl-rl); fixed: it stays."""
    init_noise_std: float = 1.0
    """Initial action noise (action units); smaller suits --action-base reference."""
    start_joint_noise: float = 0.0
    """Rad: every episode starts with the joints perturbed by this much (a physical start,
    as in the random_init evaluation), so that the expert learns to recover from it."""

    def run(self) -> None:
        from training.env import EnvConfig
        from training.randomization import RandomizationConfig
        from training.stage1 import PpoConfig, Stage1Config, load_clips, train

        cfg = Stage1Config(
            env=EnvConfig(
                num_envs=self.num_envs,
                num_threads=self.threads,
                control_hz=self.control_hz,
                gains=self.gains,
                action_base=self.action_base,
                seed=self.seed,
                randomization=RandomizationConfig(enabled=self.randomize),
                start_joint_noise=self.start_joint_noise,
            ),
            ppo=PpoConfig(
                hidden_dims=self.hidden,
                steps_per_env=self.steps_per_env,
                learning_rate=self.learning_rate,
                schedule=self.schedule,
                init_noise_std=self.init_noise_std,
                save_interval=self.save_interval,
            ),
            iterations=self.iterations,
            motions=tuple(str(Path(m).resolve()) for m in self.motions),
        )
        runner = train(cfg, self.out, load_clips(list(self.motions)))
        print(f"done: {runner.current_learning_iteration + 1} iterations, checkpoint in {self.out}")


@dataclass
class Stage2:
    """Distil a Stage 1 expert into the masked goal-conditioned variational policy with
    online DAgger (resumes if RUN_DIR has a checkpoint)."""

    expert: Path
    """The Stage 1 expert: its run directory or its exported ONNX policy."""
    out: Path
    """Run directory: config, checkpoint, TensorBoard logs."""
    motions: tuple[str, ...] = ()
    """G1 motion clips or folders (default: the expert run's own motions)."""
    num_envs: int = 64
    iterations: int = 1000
    threads: int = 0
    """Physics threads (0: all cores)."""
    steps_per_iter: int = 24
    expert_decay_iters: int = 300
    """Iterations over which the expert's share of executed actions goes from 1 to 0."""
    decoder_hidden: tuple[int, ...] = (1024, 1024, 512)
    learning_rate: float = 3e-4
    final_learning_rate: float | None = None
    """Decay the learning rate linearly to this (None: constant), from --decay-start to
    --iterations."""
    decay_start: int | None = None
    """Iteration where the decay starts (default: --expert-decay-iters, when the student
    starts acting alone; to decay only the iterations a resume adds, the iteration it
    resumes from)."""
    randomize: bool | None = None
    """Robustness randomization during distillation (default: as the expert was trained;
    on for an ONNX expert). Distil in the physics the expert masters."""
    save_interval: int = 10
    seed: int = 0

    def run(self) -> None:
        from training.expert import expert_env_config
        from training.models.policy import ModelConfig
        from training.stage1 import load_clips
        from training.stage2 import Stage2Config, train

        motions = self.motions or tuple(expert_env_config(self.expert, 1)[1])
        if not motions:
            raise ValueError("name the motion clips (--motions) for an ONNX expert")
        cfg = Stage2Config(
            expert=str(self.expert.resolve()),
            motions=tuple(str(Path(m).resolve()) for m in motions),
            iterations=self.iterations, num_envs=self.num_envs, threads=self.threads,
            steps_per_iter=self.steps_per_iter, expert_decay_iters=self.expert_decay_iters,
            save_interval=self.save_interval, seed=self.seed, randomize=self.randomize,
            learning_rate=self.learning_rate, final_learning_rate=self.final_learning_rate,
            decay_start=self.decay_start,
            model=ModelConfig(decoder_hidden=self.decoder_hidden),
        )  # fmt: skip
        run = train(cfg, self.out, load_clips(list(motions)))
        print(f"done: {run.iteration} iterations, checkpoint in {self.out}")


@dataclass
class Stage3:
    """Fine-tune a Stage 2 policy with RL in-betweening (PPO) while a share of the
    simulations keeps the distillation loss (prior preservation); learns the get-up
    task token. Resumes if RUN_DIR has a checkpoint. Several processes or GPUs:
    ``torchrun --nproc-per-node K -m training stage3 ...`` (gradients averaged)."""

    init: Path
    """The Stage 2 run directory to start from."""
    out: Path
    """Run directory: config, checkpoint, TensorBoard logs."""
    num_envs: int = 64
    """Simulations per process (both groups together)."""
    iterations: int = 500
    threads: int = 0
    """Physics threads per simulation group (0: all cores)."""
    preserve_share: float = 0.25
    """Share of the simulations that keep the Stage 2 distillation loss."""
    preserve_weight: float = 1.0
    """Weight of that loss beside the PPO loss."""
    preserve_joint_noise: float = 0.0
    """Joint noise (rad) at the preservation group's starts: the expert labels recoveries."""
    expert: Path | None = None
    """The preservation group's labeller, a Stage 1 run directory or ONNX policy (default:
    the Stage 2 run's expert), e.g. one trained from perturbed starts (stage1
    --start-joint-noise) whose recoveries the student should learn."""
    critic_warmup_iters: int = 10
    """Iterations that train the critic alone before the policy moves."""
    steps_per_iter: int = 24
    learning_rate: float = 1e-5
    """Learning rate (and the ceiling of the KL-adaptive one)."""
    desired_kl: float | None = None
    """Target policy change (KL) per minibatch of an adaptive rate that never exceeds
    --learning-rate (None: fixed rate)."""
    fallen_prob: float = 0.2
    """Share of in-betweening starts lying on the floor (get-up)."""
    tracking_share: float = 0.0
    """Share of in-betweening starts that track the whole reference (dense reward)."""
    explore: str = "action"
    """Where PPO's noise goes: "action" (joint actions; PPO trains prior and decoder) or
    "latent" (the prior's latent, decoded; PPO trains the prior)."""
    init_std: float = 0.2
    """Exploration noise at the start (action units, or latent units with --explore latent)."""
    episode_seconds: float = 0.0
    """In-betweening episodes are cut (value-bootstrapped) after this many seconds, so
    that samples go to recoveries from the random starts (0: the longest clip)."""
    group_size: int = 0
    """Attempts per start (>= 2): each rollout restarts the in-betweening simulations in
    groups from one random start each, attempts of --steps-per-iter steps, advantages
    relative to the group (GRPO's, no critic); 0: off (GAE with the critic)."""
    save_interval: int = 10
    seed: int = 0

    def run(self) -> None:
        from dataclasses import replace

        from training.inbetween import InbetweenConfig
        from training.stage3 import Stage3Config, train

        cfg = Stage3Config(
            init=str(self.init), iterations=self.iterations, num_envs=self.num_envs,
            threads=self.threads, preserve_share=self.preserve_share,
            preserve_weight=self.preserve_weight, critic_warmup_iters=self.critic_warmup_iters,
            preserve_joint_noise=self.preserve_joint_noise,
            expert=str(self.expert.resolve()) if self.expert else "",
            steps_per_iter=self.steps_per_iter, learning_rate=self.learning_rate,
            desired_kl=self.desired_kl, save_interval=self.save_interval, seed=self.seed,
            explore=self.explore, init_std=self.init_std, episode_seconds=self.episode_seconds,
            group_size=self.group_size,
            task=replace(InbetweenConfig(), fallen_prob=self.fallen_prob,
                         tracking_share=self.tracking_share),
        )  # fmt: skip
        run = train(cfg, self.out)
        from training import distributed

        if distributed.setup()[0] == 0:
            print(f"done: {run.iteration} iterations, checkpoint in {self.out}")


@dataclass
class Eval:
    """Evaluate a Stage 2 or 3 run on the tasks of the paper's Table 1 (full, snapshot,
    trajectory, contact, chain, random_init), Stage 3's in-betweening task and get-up:
    success, E_h, E_o, failure rate, goal error, terminations by cause; prints the table
    and writes it as JSON."""

    run: Annotated[Path, tyro.conf.Positional]
    task: tuple[str, ...] = (
        "full", "snapshot", "trajectory", "contact", "chain", "random_init", "inbetween",
        "getup",
    )  # fmt: skip
    episodes: int = 1
    """Attempts per clip (every attempt counts; no best-of-N)."""
    randomize: bool = False
    """Each attempt under the training randomization (same draws for student and expert)."""
    out: Path | None = None
    """JSON report (default: RUN_DIR/eval.json)."""

    def run_(self) -> None:
        import json

        from robots.atomic import write_text
        from training.evaluate import run_task, table

        reports = [
            run_task(self.run, t, self.episodes, randomize=self.randomize) for t in self.task
        ]
        print(table(reports))
        out = self.out or self.run / "eval.json"
        write_text(out, json.dumps(reports, indent=2))
        print(f"wrote {out}")


@dataclass
class Play:
    """Evaluate a Stage 1 run from each clip's first frame: success rate, E_h, E_o, falls;
    optionally render an MP4 of the first clip."""

    run: Annotated[Path, tyro.conf.Positional]
    episodes: int = 1
    """Attempts per clip."""
    video: Path | None = None
    """Write an MP4 of the first clip's first attempt here."""

    def run_(self) -> None:
        import json

        from training.play import evaluate

        report = evaluate(self.run, self.episodes, self.video)
        print(json.dumps(report, indent=2))


@dataclass
class Curves:
    """Plot a run's learning curves (episode length, return, tracking terms) to a PNG."""

    run: Annotated[Path, tyro.conf.Positional]
    out: Path = Path("curves.png")

    def run_(self) -> None:
        from training.curves import plot_curves

        print(f"wrote {plot_curves(self.run, self.out)}")


@dataclass
class Export:
    """Export a run's policy to ONNX (normalization included, metadata, parity check); for
    a Stage 2 or 3 run its prior + decoder (inputs history, tokens, visible, noise,
    task)."""

    run: Annotated[Path, tyro.conf.Positional]
    out: Path = Path("policy.onnx")

    def run_(self) -> None:
        import json

        from training.export import export_latent, export_run

        saved = json.loads((self.run / "config.json").read_text())
        latent = "expert" in saved or "stage2" in saved
        report = (export_latent if latent else export_run)(self.run, self.out)
        print(json.dumps({k: v for k, v in report.items() if k != "metadata"}, indent=2))
        print(f"wrote {self.out}")


def main() -> None:
    cmd = tyro.extras.subcommand_cli_from_dict(
        {
            "stage1": Stage1,
            "stage2": Stage2,
            "stage3": Stage3,
            "eval": Eval,
            "play": Play,
            "curves": Curves,
            "export": Export,
        },
        prog="python -m training",
        description=__doc__,
    )
    try:
        (cmd.run if isinstance(cmd, (Stage1, Stage2, Stage3)) else cmd.run_)()
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
