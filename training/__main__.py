"""Training entry points: ``python -m training --help``.

The stage commands take their flags from the config dataclasses themselves
(``--env.num-envs``, ``--ppo.learning-rate``, ``--model.decoder-hidden``, ...); a named
recipe (``training/recipes.py``) sets many at once, e.g. ``python -m training stage1
lift --motions CLIP.npz --out runs/lift``, and flags after it override it."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import tyro

from training import recipes
from training.backend import BackendName
from training.stage1 import Stage1Config
from training.stage2 import Stage2Config
from training.stage3 import Stage3Config


def _recipes(table: dict):
    """A tyro type choosing one of ``table``'s named configs (default: "default")."""
    return Annotated[
        tyro.extras.subcommand_type_from_defaults(
            {k: cfg for k, (_, cfg) in table.items()}, {k: d for k, (d, _) in table.items()}
        ),
        tyro.conf.arg(name=""),
    ]


def _resolved(paths) -> tuple[str, ...]:
    return tuple(str(Path(p).resolve()) for p in paths)


@dataclass
class Stage1:
    """Train the Stage 1 tracking expert with PPO (resumes if OUT has a checkpoint).
    Several GPUs: ``torchrun --nproc-per-node K -m training stage1 ... --backend warp
    --device cuda`` (rsl-rl's multi-GPU training, NCCL)."""

    out: Path
    """Run directory: config, checkpoint, TensorBoard logs."""
    config: _recipes(recipes.STAGE1) = Stage1Config()

    def run(self) -> None:
        from training.stage1 import load_clips, train

        if not self.config.motions:
            raise ValueError("name the motion clips (--motions): .npz files or folders")
        cfg = replace(self.config, motions=_resolved(self.config.motions))
        runner = train(cfg, self.out, load_clips(list(cfg.motions)))
        print(f"done: {runner.current_learning_iteration + 1} iterations, checkpoint in {self.out}")


@dataclass
class Stage2:
    """Distil a Stage 1 expert (--expert: its run directory or exported ONNX policy) into
    the masked goal-conditioned variational policy with online DAgger (resumes if OUT
    has a checkpoint). --motions defaults to the expert run's own. Several processes or
    GPUs: ``torchrun --nproc-per-node K -m training stage2 ...`` (gradients averaged)."""

    out: Path
    """Run directory: config, checkpoint, TensorBoard logs."""
    config: _recipes(recipes.STAGE2) = Stage2Config()

    def run(self) -> None:
        from training import distributed
        from training.expert import expert_env_config
        from training.stage1 import load_clips
        from training.stage2 import train

        cfg = self.config
        if not cfg.expert:
            raise ValueError("name the Stage 1 expert (--expert RUN_DIR or POLICY.onnx)")
        motions = cfg.motions or tuple(expert_env_config(Path(cfg.expert), 1)[1])
        if not motions:
            raise ValueError("name the motion clips (--motions) for an ONNX expert")
        cfg = replace(cfg, expert=_resolved([cfg.expert])[0], motions=_resolved(motions))
        run = train(cfg, self.out, load_clips(list(cfg.motions)))
        if distributed.setup()[0] == 0:
            print(f"done: {run.iteration} iterations, checkpoint in {self.out}")


@dataclass
class Stage3:
    """Fine-tune a Stage 2 run (--init) with RL in-betweening (PPO) while a share of the
    simulations keeps the distillation loss (prior preservation); learns the get-up
    task token. Resumes if OUT has a checkpoint. Several processes or GPUs:
    ``torchrun --nproc-per-node K -m training stage3 ...`` (gradients averaged)."""

    out: Path
    """Run directory: config, checkpoint, TensorBoard logs."""
    config: _recipes(recipes.STAGE3) = Stage3Config()

    def run(self) -> None:
        from training import distributed
        from training.stage3 import train

        cfg = self.config
        if not cfg.init:
            raise ValueError("name the Stage 2 run to fine-tune (--init RUN_DIR)")
        if cfg.expert:
            cfg = replace(cfg, expert=_resolved([cfg.expert])[0])
        run = train(cfg, self.out)
        if distributed.setup()[0] == 0:
            print(f"done: {run.iteration} iterations, checkpoint in {self.out}")


@dataclass
class Eval:
    """Evaluate a Stage 2 or 3 run on the tasks of the paper's Table 1 (full, snapshot,
    trajectory, contact, chain, random_init), Stage 3's in-betweening task and get-up:
    success, E_h, E_o, failure rate, goal error, terminations by cause, the student's
    action error against its expert's labels; prints the table and writes it as JSON."""

    run: Annotated[Path, tyro.conf.Positional]
    task: tuple[str, ...] = (
        "full", "snapshot", "trajectory", "contact", "chain", "random_init", "inbetween",
        "getup",
    )  # fmt: skip
    episodes: int = 1
    """Attempts per clip (every attempt counts; no best-of-N)."""
    randomize: bool = False
    """Each attempt under the training randomization (same draws for student and expert)."""
    action_noise: float = 0.0
    """Gaussian noise of this standard deviation (action units) on every executed
    action, the same draws for student and expert: how much imitation error a policy's
    closed loop tolerates (its margin)."""
    out: Path | None = None
    """JSON report (default: RUN_DIR/eval.json)."""
    backend: BackendName = "batch"
    """Physics: batch (MuJoCo threads on the CPU) or warp (MuJoCo Warp)."""
    device: str = "cpu"
    """The warp backend's device: cuda, cuda:N or cpu."""

    def run_(self) -> None:
        import json

        from robots.atomic import write_text
        from training.evaluate import run_task, table

        reports = [
            run_task(self.run, t, self.episodes, randomize=self.randomize,
                     action_noise=self.action_noise, backend=self.backend,
                     device=self.device)
            for t in self.task
        ]  # fmt: skip
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
    action_noise: float = 0.0
    """Gaussian noise of this standard deviation (action units) on every executed
    action: how much imitation error the policy's closed loop tolerates (its margin)."""
    backend: BackendName = "batch"
    """Physics: batch (MuJoCo threads on the CPU) or warp (MuJoCo Warp)."""
    device: str = "cpu"
    """The warp backend's device: cuda, cuda:N or cpu."""

    def run_(self) -> None:
        import json

        from training.play import evaluate

        report = evaluate(self.run, self.episodes, self.video, self.action_noise,
                          backend=self.backend, device=self.device)  # fmt: skip
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
    out: Path | None = None
    """Where to write the policy (default: policy.onnx in the run folder)."""

    def run_(self) -> None:
        import json

        from training.export import export_latent, export_run

        out = self.out or self.run / "policy.onnx"
        saved = json.loads((self.run / "config.json").read_text())
        latent = "expert" in saved or "stage2" in saved
        report = (export_latent if latent else export_run)(self.run, out)
        print(json.dumps({k: v for k, v in report.items() if k != "metadata"}, indent=2))
        print(f"wrote {out}")


COMMANDS = {"stage1": Stage1, "stage2": Stage2, "stage3": Stage3, "eval": Eval, "play": Play,
            "curves": Curves, "export": Export}  # fmt: skip


def parse(args: list[str] | None = None):
    """The command object of ``python -m training ARGS``."""
    return tyro.extras.subcommand_cli_from_dict(
        COMMANDS, prog="python -m training", description=__doc__, args=args,
        config=(tyro.conf.OmitSubcommandPrefixes, tyro.conf.CascadeSubcommandArgs),
    )  # fmt: skip


def main() -> None:
    cmd = parse()
    try:
        (cmd.run if isinstance(cmd, (Stage1, Stage2, Stage3)) else cmd.run_)()
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
