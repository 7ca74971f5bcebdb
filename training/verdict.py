"""From a clip to a verdict in one command: the clip prepared once (retargeted when it is
human+object motion, a lead-in from standing prepended), a Stage 1 expert trained on it
within a time budget, exported, judged by sim2sim's robustness sweep, and one report.

Everything lives in the run folder, so the same command continues on a fresh clone when
the folder is committed (under ``training/checkpoints/``, where ``.gitignore`` keeps the
config, the latest checkpoint and the prepared clip). The sweep runs as its own process:
training never imports sim2sim.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from common.atomic import write_text
from robots.clip import ClipError, load_clip
from training import runs, stage1
from training.configs import Stage1Config
from training.export import export_run

CLIP = "clip.npz"  # the prepared clip, in the run folder
SWEEP = "sweep"  # sim2sim.sweep's folder, in the run folder
REPORT = "verdict"  # verdict.json and verdict.md, in the run folder


@dataclass(frozen=True)
class Targets:
    """The success an expert must reach in the sweep: at the default condition, and at
    every other one."""

    default: float = 0.9
    condition: float = 0.7


def prepare_clip(source: Path, run_dir: Path, lead_in: float) -> Path:
    """The run's clip (``run_dir/clip.npz``), written once: ``source`` as it is when it is a
    G1 clip, else retargeted first (``python -m retarget``); a lead-in from the default
    standing pose prepended (none for ``lead_in`` 0); the object's geometry path made
    relative to the run folder, so that a committed folder finds it on another machine
    with the same layout."""
    out = run_dir / CLIP
    if out.is_file():
        return out
    try:
        clip = load_clip(source)
    except ClipError:  # not a G1 clip: human+object motion to retarget
        clip = load_clip(retargeted(source, run_dir / "retarget"))
    if lead_in > 0:
        clip = clip.with_lead_in(lead_in)
    obj = clip.object
    if obj.path:
        here = os.path.relpath(obj.resolved_path().resolve(), run_dir.resolve())
        clip = replace(clip, object=replace(obj, path=here, base_dir=str(run_dir)))
    return clip.save(out)


def retargeted(source: Path, folder: Path) -> Path:
    """``source`` (InterAct ``.pt`` or OMOMO ``.npz``) retargeted into ``folder``."""
    cmd = [sys.executable, "-m", "retarget", str(source), "--out", str(folder)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    clip = folder / f"{source.stem}.npz"
    if done.returncode != 0 or not clip.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise ValueError(f"{source}: retargeting failed ({' '.join(tail) or 'no clip written'})")
    return clip


def train(cfg: Stage1Config, run_dir: Path, clip: Path, minutes: float | None) -> None:
    """Train (or continue) the expert on ``clip``."""
    stage1.train(replace(cfg, motions=(str(clip),)), run_dir, [load_clip(clip)], minutes=minutes)


def kept(run_dir: Path, last: int) -> tuple[int, ...]:
    """The iterations of the last ``last`` kept checkpoints (none kept: the latest)."""
    return tuple(runs.kept(run_dir)[-last:]) if last > 1 else ()


def sweep(policy: Path, clip: Path, out: Path, episodes: int, seed: int, workers: int) -> dict:
    """sim2sim's robustness sweep of ``policy`` on ``clip`` (its own process)."""
    cmd = [sys.executable, "-m", "sim2sim.sweep", "--policy", str(policy), "--motion", str(clip),
           "--out", str(out), "--episodes", str(episodes), "--seed", str(seed),
           "--workers", str(workers)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:]
        raise ValueError(f"the sweep failed: {' '.join(tail)}")
    return json.loads((out / "sweep.json").read_text())


def cost(run_dir: Path, cfg: Stage1Config) -> dict:
    """The run's policy steps and wall hours so far, from its checkpoint's curve."""
    state = runs.load_checkpoint(run_dir)
    iterations = int(state["iter"]) + 1
    seconds = sum(v for _, v in state["curve"].get("time/iteration_s", []))
    steps = iterations * cfg.placement.num_envs * cfg.ppo.steps_per_env
    return {"iterations": iterations, "policy_steps": steps, "wall_hours": seconds / 3600,
            "threads": cfg.placement.threads}  # fmt: skip


def judge(result: dict, targets: Targets) -> dict:
    """The verdict on a sweep: every condition against its target."""
    rows = []
    for r in result["conditions"]:
        target = targets.default if r["factor"] == "default" else targets.condition
        rows.append({"factor": r["factor"], "value": r["value"], "success": r["success_rate"],
                     "target": target, "held": r["success_rate"] >= target})  # fmt: skip
    return {"robust": all(r["held"] for r in rows), "held": sum(r["held"] for r in rows),
            "conditions": rows}  # fmt: skip


def markdown(report: dict) -> str:
    c, v = report["cost"], report["verdict"]
    word = "robust" if v["robust"] else "not robust yet"
    lines = [
        f"# Verdict: `{report['clip']}`",
        "",
        f"**{word}**: {v['held']} of {len(v['conditions'])} conditions held "
        f"(`{report['policy']}`, {report['episodes']} episode(s) per condition, seed "
        f"{report['seed']}; falls, errors and how episodes ended: `{SWEEP}/sweep.md`).",
        "",
        f"Training so far: {c['iterations']} iterations, {c['policy_steps'] / 1e6:.2f} M "
        f"policy steps, {c['wall_hours']:.2f} h of wall time, physics on "
        f"{c['threads'] or 'all'} CPU thread(s).",
        "",
        "| factor | value | success | target |",
        "|---|---|---|---|",
    ]
    for r in v["conditions"]:
        mark = "" if r["held"] else " ✗"
        lines.append(f"| {r['factor']} | {r['value']} | {r['success']:.0%}{mark} | "
                     f"{r['target']:.0%} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def run(cfg: Stage1Config, source: Path, run_dir: Path, minutes: float | None, lead_in: float,
        average: int, episodes: int, seed: int, targets: Targets,
        workers: int = 2) -> dict:  # fmt: skip
    """The whole way from ``source`` to ``run_dir/verdict.{json,md}``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    clip = prepare_clip(source, run_dir, lead_in)
    train(cfg, run_dir, clip, minutes)
    policy = run_dir / "policy.onnx"
    export_run(run_dir, policy, checkpoints=kept(run_dir, average))
    result = sweep(policy, clip, run_dir / SWEEP, episodes, seed, workers)
    report = {"clip": str(source), "policy": str(policy), "episodes": episodes, "seed": seed,
              "cost": cost(run_dir, runs.read(run_dir)[1]),
              "verdict": judge(result, targets)}  # fmt: skip
    write_text(run_dir / f"{REPORT}.json", json.dumps(report, indent=2) + "\n")
    write_text(run_dir / f"{REPORT}.md", markdown(report))
    return report
