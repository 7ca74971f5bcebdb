"""Training entry points: ``python -m training --help``.

The stage commands take their flags from the config dataclasses themselves
(``--placement.num-envs``, ``--ppo.learning-rate.start``, ``--model.decoder-hidden``,
...); a named recipe (``configs/stageN/NAME.toml``, ``training/recipes.py``) sets a
documented run's settings, e.g. ``python -m training stage1 lift --out runs/lift``, and
flags after it override it. Paths are relative to the working folder; recipes name them
from the project root, so run them there."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

import tyro

from common.atomic import write_text
from training import distributed, recipes, runs, stage1, stage2, stage3, verdict
from training.configs import EnvOverrides, Placement, Stage1Config, Stage2Config, Stage3Config
from training.curves import plot_curves
from training.evaluate import evaluate_expert, run_task, table
from training.expert import expert_env_config
from training.export import export_latent, export_run


def _recipes(stage: int):
    """A tyro type choosing one of the stage's recipes by name (default: "default")."""
    table = recipes.load(stage)
    return Annotated[
        tyro.extras.subcommand_type_from_defaults(
            {k: r.config for k, r in table.items()},
            {k: f"{r.description} ({r.run})" if r.run else r.description
             for k, r in table.items()},
        ),
        tyro.conf.arg(name=""),
    ]  # fmt: skip


@dataclass
class _Stage:
    out: Path
    """Run folder: config, checkpoint (with the curve), TensorBoard logs. Starting again
    with the same folder resumes it."""
    minutes: float | None = None
    """Stop cleanly after this many minutes, checkpoint written (the same command resumes)."""


@dataclass
class Stage1(_Stage):
    """Train the Stage 1 tracking expert with PPO. Several GPUs: ``torchrun
    --nproc-per-node K -m training stage1 ... --placement.backend warp --placement.device
    cuda`` (rsl-rl's multi-GPU training, NCCL)."""

    config: _recipes(1) = Stage1Config()

    def run(self) -> None:
        if not self.config.motions:
            raise ValueError("name the motion clips (--motions): .npz files or folders")
        runner = stage1.train(self.config, self.out, minutes=self.minutes)
        print(f"{runner.current_learning_iteration + 1} iterations done, checkpoint in {self.out}")


@dataclass(kw_only=True)
class Verdict(Stage1):
    """From a clip to a verdict: prepare the clip (human+object motion is retargeted, a
    lead-in from standing prepended), train the Stage 1 expert on it within --minutes,
    export it (the last kept checkpoints averaged), run sim2sim's robustness sweep and
    write OUT/verdict.md. The same command continues the run; commit OUT (under
    training/checkpoints/) to continue it on another machine."""

    clip: Path
    """A G1 clip (.npz) or human+object motion to retarget (InterAct .pt, OMOMO .npz)."""
    lead_in: float = 1.5
    """Seconds of the way from standing prepended to the clip (0: none)."""
    average: int = 4
    """The last this many kept checkpoints averaged at export (1: the latest)."""
    episodes: int = 16
    """Sweep episodes per condition."""
    seed: int = 0
    """The sweep's seed."""
    workers: int = 2
    """The sweep's processes."""

    def run(self) -> None:
        if min(self.average, self.episodes, self.workers) < 1 or self.lead_in < 0:
            raise ValueError("--average, --episodes and --workers are at least 1, --lead-in "
                             "at least 0")  # fmt: skip
        report = verdict.run(self.config, self.clip, self.out, self.minutes, self.lead_in,
                             self.average, self.episodes, self.seed, verdict.Targets(),
                             self.workers)  # fmt: skip
        print(verdict.markdown(report))
        print(f"wrote {self.out / verdict.REPORT}.{{json,md}}")


@dataclass
class Stage2(_Stage):
    """Distil a Stage 1 expert (--expert: its run folder or exported ONNX policy) into the
    masked goal-conditioned variational policy with online DAgger. --motions defaults
    to the expert run's own. Several processes or GPUs: ``torchrun --nproc-per-node K -m
    training stage2 ...`` (gradients averaged)."""

    config: _recipes(2) = Stage2Config()

    def run(self) -> None:
        cfg = self.config
        if not cfg.expert:
            raise ValueError("name the Stage 1 expert (--expert RUN_DIR or POLICY.onnx)")
        if not cfg.motions:
            recorded = expert_env_config(Path(cfg.expert))[1]  # the expert run's own clips
            cfg = replace(cfg, motions=tuple(str(runs.resolved(m)) for m in recorded))
        if not cfg.motions:
            raise ValueError("name the motion clips (--motions) for an ONNX expert")
        run = stage2.train(cfg, self.out, minutes=self.minutes)
        if distributed.setup()[0] == 0:
            print(f"{run.iteration} iterations done, checkpoint in {self.out}")


@dataclass
class Stage3(_Stage):
    """Fine-tune a Stage 2 run (--init: its folder or a checkpoint) with RL in-betweening
    (PPO) while a share of the simulations keeps the distillation loss (prior
    preservation); learns the get-up task token. Several processes or GPUs: ``torchrun
    --nproc-per-node K -m training stage3 ...`` (gradients averaged)."""

    config: _recipes(3) = Stage3Config()

    def run(self) -> None:
        if not self.config.init:
            raise ValueError("name the Stage 2 run to fine-tune (--init RUN_DIR)")
        run = stage3.train(self.config, self.out, minutes=self.minutes)
        if distributed.setup()[0] == 0:
            print(f"{run.iteration} iterations done, checkpoint in {self.out}")


@dataclass
class Evaluate:
    """Evaluate a run. A Stage 1 expert: every clip from its first frame (success, E_h,
    E_o, falls; optionally a video). A Stage 2 or 3 policy: the tasks of the paper's
    Table 1 (full, snapshot, trajectory, contact, chain, random_init), Stage 3's
    in-betweening task and get-up, with the student's action error against its
    expert's labels. Prints the report and writes it as JSON."""

    run: Annotated[Path, tyro.conf.Positional]
    task: tuple[str, ...] = (
        "full", "snapshot", "trajectory", "contact", "chain", "random_init", "inbetween",
        "getup",
    )  # fmt: skip
    """Stage 2/3 runs: the tasks to run."""
    episodes: int = 1
    """Attempts per clip (every attempt counts; no best-of-N)."""
    action_noise: float = 0.0
    """Gaussian noise of this standard deviation (action units) on every executed
    action, the same draws for student and expert: how much imitation error a policy's
    closed loop tolerates (its margin)."""
    video: Path | None = None
    """Stage 1 runs: an MP4 of the first clip's first attempt."""
    out: Path | None = None
    """JSON report (default: RUN_DIR/evaluation.json)."""
    placement: Placement = field(default_factory=lambda: Placement(num_envs=1))
    """Where the physics runs (the number of simulations is clips x episodes)."""
    env: EnvOverrides = EnvOverrides(randomize=False)
    """Overrides of the run's environment: ``--env.randomize`` gives each attempt the
    training randomization (the same draws for student and expert)."""

    def run_(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"--episodes {self.episodes}: at least one attempt per clip")
        stage, _ = runs.read(self.run)
        if stage == 1:
            report = evaluate_expert(self.run, self.episodes, self.video, self.action_noise,
                                     self.placement, self.env)  # fmt: skip
            print(json.dumps(report, indent=2))
        else:
            report = [run_task(self.run, t, self.episodes, action_noise=self.action_noise,
                               placement=self.placement, env=self.env)
                      for t in self.task]  # fmt: skip
            print(table(report))
        out = self.out or self.run / "evaluation.json"
        write_text(out, json.dumps(report, indent=2))
        print(f"wrote {out}")


@dataclass
class Curves:
    """Plot a run's learning curves (from its checkpoint) to a PNG."""

    run: Annotated[Path, tyro.conf.Positional]
    out: Path = Path("curves.png")

    def run_(self) -> None:
        print(f"wrote {plot_curves(self.run, self.out)}")


@dataclass
class Export:
    """Export a run's policy to ONNX (normalization included, metadata with the clips it
    was trained on, parity check); for a Stage 2 or 3 run its prior + decoder (inputs
    history, tokens, visible, noise, task)."""

    run: Annotated[Path, tyro.conf.Positional]
    out: Path | None = None
    """Where to write the policy (default: policy.onnx in the run folder)."""
    checkpoint: tuple[str, ...] = ()
    """Kept checkpoints' iterations (``checkpoint_N.pt``) instead of the latest, or
    checkpoint files (of the run this one continues); with several, their weights
    averaged (``--checkpoint 5750 6000 6250``)."""

    def run_(self) -> None:
        out = self.out or self.run / "policy.onnx"
        stage, _ = runs.read(self.run)
        export = export_run if stage == 1 else export_latent
        report = export(self.run, out, checkpoints=self.checkpoint)
        print(json.dumps({k: v for k, v in report.items() if k != "metadata"}, indent=2))
        print(f"wrote {out}")


COMMANDS = {"stage1": Stage1, "stage2": Stage2, "stage3": Stage3, "verdict": Verdict,
            "evaluate": Evaluate, "curves": Curves, "export": Export}  # fmt: skip


def parse(args: list[str] | None = None):
    """The command object of ``python -m training ARGS``."""
    return tyro.extras.subcommand_cli_from_dict(
        COMMANDS, prog="python -m training", description=__doc__, args=args,
        config=(tyro.conf.OmitSubcommandPrefixes, tyro.conf.CascadeSubcommandArgs),
    )  # fmt: skip


def main() -> None:
    cmd = parse()
    try:
        (cmd.run if isinstance(cmd, _Stage) else cmd.run_)()
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
