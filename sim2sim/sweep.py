"""The robustness sweep: a policy on its clip under a named grid of one-factor changes of
the strict sim2sim harness, each started and sensed as the robot is (sim2sim's
defaults). ``python -m sim2sim.sweep --policy P.onnx --motion CLIP.npz --out DIR``.

Writes ``DIR/sweep.json`` (every condition's report), ``DIR/sweep.md`` (the table) and
``DIR/sweep.png`` (success against each factor). The score is the share of conditions
at or above 80 % success. Conditions run in parallel processes; each runs its episodes
in one harness from ``--seed``, exactly as ``run_mujoco.py`` does with the same
settings, so the neutral condition reproduces the default report.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

import tyro

from common.atomic import atomic_path, write_text
from contract.policy import Policy, PolicyError
from contract.policy_file import clip_warning, object_error
from contract.sensors import SensorNoise
from robots.clip import load_clip
from robots.g1.mjcf import UNITREE_SIM
from sim2sim.harness import Sim2Sim, Sim2SimSettings, summary

PASS = 0.8  # success rate at which a condition counts as held


@dataclass(frozen=True)
class Condition:
    factor: str
    label: str
    changes: tuple[tuple[str, object], ...] = ()
    """(dotted field of ``Sim2SimSettings``, value) pairs; none: the default."""

    def settings(self, base: Sim2SimSettings) -> Sim2SimSettings:
        out = base
        for path, value in self.changes:
            out = _with(out, path.split("."), value)
        return out


def _with(obj, path: list[str], value):
    names = {f.name for f in fields(obj)}
    if path[0] not in names:
        raise ValueError(f"{type(obj).__name__} has no setting {path[0]!r}")
    if len(path) == 1:
        return replace(obj, **{path[0]: value})
    inner = getattr(obj, path[0])
    if not is_dataclass(inner):
        raise ValueError(f"{path[0]!r} has no settings inside")
    return replace(obj, **{path[0]: _with(inner, path[1:], value)})


def _one(factor: str, path: str, values, unit: str = "") -> list[Condition]:
    return [Condition(factor, f"{v:g}{unit}", ((path, v),)) for v in values]


DOUBLE_NOISE = SensorNoise(**{k: 2 * v for k, v in asdict(SensorNoise()).items()})
UNITREE_JOINTS = (("perturb.joint_damping", 0.05), ("perturb.joint_frictionloss", 0.2))
# Its G1 model against ours: armature 0.01 on every joint, the pre-1.0 torso's 1.78 kg.
UNITREE_MODEL = (*UNITREE_JOINTS, ("perturb.armature", 0.01), ("perturb.torso_mass", 1.78))

# The acceptance grid of the bundled lift expert (docs/sim2sim.md, "Robustness").
ACCEPTANCE: list[Condition] = [
    Condition("default", "-"),
    *_one("latency", "latency_ms", (10.0, 20.0), " ms"),
    *_one("kp", "perturb.kp_scale", (0.9, 1.1), "x"),
    *_one("torque limit", "perturb.torque_scale", (0.85,), "x"),
    *_one("object mass", "perturb.object_mass_scale", (0.7, 1.3), "x"),
    *_one("object friction", "perturb.object_friction", (0.5, 1.2)),
    *_one("floor friction", "perturb.floor_friction", (0.5,)),
    *_one("object distance", "perturb.object_distance", (-0.03, 0.03), " m"),
    *_one("object side", "perturb.object_side", (-0.03, 0.03), " m"),
    *_one("push", "push_velocity", (0.5,), " m/s"),
    Condition("joint friction", "0.2 N m, d 0.05", UNITREE_JOINTS),
    *_one("torso mass", "perturb.torso_mass", (1.8,), " kg"),
    Condition("tracker", "60 ms, 1 cm", (("tracker.latency", 0.06), ("tracker.noise", 0.01))),
]

# Every axis, a step further where the acceptance grid stops.
FULL: list[Condition] = [
    *ACCEPTANCE,
    *_one("latency", "latency_ms", (0.0, 30.0), " ms"),
    *_one("kp", "perturb.kp_scale", (0.8, 1.2), "x"),
    *_one("torque limit", "perturb.torque_scale", (0.7,), "x"),
    *_one("joint damping", "perturb.joint_damping", (0.1,)),
    *_one("joint friction", "perturb.joint_frictionloss", (0.4,), " N m"),
    *_one("armature", "perturb.armature", (0.01, 0.03), " kg m2"),
    *_one("link mass", "perturb.link_mass_scale", (0.9, 1.1), "x"),
    *_one("object size", "perturb.object_size_scale", (0.95, 1.05), "x"),
    *_one("floor friction", "perturb.floor_friction", (0.3, 1.2)),
    *_one("object distance", "perturb.object_distance", (-0.05, 0.05), " m"),
    *_one("object yaw", "perturb.object_yaw", (-0.2, 0.2), " rad"),
    *_one("push", "push_velocity", (1.0,), " m/s"),
    Condition("sensor noise", "x2", (("noise", DOUBLE_NOISE),)),
    *_one("tracker dropout", "tracker.dropout", (0.2,)),
    Condition("tracker", "100 ms, 2 cm", (("tracker.latency", 0.1), ("tracker.noise", 0.02))),
    *[Condition("sensing", s, (("sensing", s),)) for s in ("object-tracker", "true")],
    # Unitree's simulator: its physics and model differences, with its sampled PD law
    # and, to tell the law's share apart, with the continuous one.
    *[
        Condition("Unitree's simulator", label, (("physics", physics), *UNITREE_MODEL))
        for label, physics in (
            ("sampled PD", UNITREE_SIM),
            ("continuous PD", replace(UNITREE_SIM, pd="continuous")),
        )
    ],
]

GRIDS = {"acceptance": ACCEPTANCE, "full": FULL}


@dataclass
class Args:
    policy: Path
    motion: Path
    out: Path
    """Folder for sweep.json, sweep.md and sweep.png."""
    grid: Literal["acceptance", "full"] = "acceptance"
    episodes: int = 16
    seed: int = 0
    workers: int = 2
    """Processes running conditions at once."""


def run_condition(policy: Path, motion: Path, settings: Sim2SimSettings, episodes: int) -> dict:
    """One condition's report: ``episodes`` episodes in one harness, as run_mujoco runs
    them."""
    sim = Sim2Sim(Policy.load(policy), load_clip(motion), settings)
    runs = [sim.episode() for _ in range(episodes)]
    for e in runs:
        e.pop("states")
    return {**summary(runs), "ended_by": [e["ended_by"] or "end" for e in runs]}


def sweep(args: Args, grid: list[Condition]) -> dict:
    base = Sim2SimSettings(seed=args.seed)
    settings = [c.settings(base) for c in grid]  # a bad condition fails before any runs
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        jobs = [pool.submit(run_condition, args.policy, args.motion, s, args.episodes)
                for s in settings]  # fmt: skip
        reports = [j.result() for j in jobs]
    rows = [{"factor": c.factor, "value": c.label, "changes": dict(c.changes), **r}
            for c, r in zip(grid, reports, strict=True)]  # fmt: skip
    held = sum(r["success_rate"] >= PASS for r in rows)
    return {
        "policy": str(args.policy), "motion": str(args.motion), "grid": args.grid,
        "episodes": args.episodes, "seed": args.seed, "conditions": rows,
        "score": held / len(rows), "held": held,
    }  # fmt: skip


def markdown(result: dict) -> str:
    lines = [
        f"Robustness sweep of `{result['policy']}` on `{result['motion']}` (grid "
        f"{result['grid']}, {result['episodes']} episodes per condition, seed "
        f"{result['seed']}): **{result['held']}/{len(result['conditions'])} conditions at "
        f"or above {PASS:.0%} success** (score {result['score']:.2f}).",
        "",
        "| factor | value | success | falls | E_h (cm) | E_o (cm) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["conditions"]:
        mark = "" if r["success_rate"] >= PASS else " ✗"
        lines.append(
            f"| {r['factor']} | {r['value']} | {r['success_rate']:.0%}{mark} | "
            f"{r['fall_rate']:.0%} | {r['E_h_cm']:.1f} | {r['E_o_cm']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plot(result: dict) -> bytes:
    """PNG: success against each factor's values, the default beside them."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["conditions"]
    default = next(r["success_rate"] for r in rows if r["factor"] == "default")
    factors = list(dict.fromkeys(r["factor"] for r in rows if r["factor"] != "default"))
    cols, lines = 4, max(1, -(-len(factors) // 4))
    fig, axes = plt.subplots(lines, cols, squeeze=False, figsize=(3.2 * cols, 2.4 * lines))
    for ax, factor in zip(axes.flat, factors, strict=False):
        mine = [r for r in rows if r["factor"] == factor]
        labels = ["default"] + [r["value"] for r in mine]
        values = [default] + [r["success_rate"] for r in mine]
        colors = ["0.6"] + ["tab:green" if v >= PASS else "tab:red" for v in values[1:]]
        ax.bar(range(len(values)), values, color=colors)
        for x, v in enumerate(values):
            ax.text(x, v + 0.02, f"{v:.0%}", ha="center", fontsize=7)
        ax.axhline(PASS, color="k", lw=0.8, ls="--")
        ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=20)
        ax.set_ylim(0, 1.15)
        ax.set_title(factor, fontsize=9)
    for ax in list(axes.flat)[len(factors) :]:
        ax.axis("off")
    fig.suptitle(f"success per condition (dashed: {PASS:.0%}); score {result['score']:.2f}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def main() -> None:
    args = tyro.cli(Args, prog="python -m sim2sim.sweep", description=__doc__)
    try:
        policy = Policy.load(args.policy)
        if error := object_error(policy, load_clip(args.motion).object):
            raise ValueError(error)
        if args.episodes < 1 or args.workers < 1:
            raise ValueError("--episodes and --workers must be at least 1")
    except (PolicyError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if warning := clip_warning(policy, args.motion):
        print(f"warning: {warning}", file=sys.stderr)
    result = sweep(args, GRIDS[args.grid])
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "sweep.json", json.dumps(result, indent=2, default=str) + "\n")
    write_text(args.out / "sweep.md", markdown(result))
    with atomic_path(args.out / "sweep.png") as tmp:
        tmp.write_bytes(plot(result))
    print(f"wrote {args.out}/sweep.{{json,md,png}}: {result['held']}/{len(result['conditions'])} "
          f"conditions at or above {PASS:.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
