"""Run an exported policy in MuJoCo with sim2sim physics: ``python sim2sim/run_mujoco.py
--policy policy.onnx --motion CLIP.npz``. numpy + onnxruntime only (no torch). Stage 1
policies track the clip; Stage 2/3 policies get goals from it under ``--goals PATTERN``
or, with ``--goal-sequence FILE``, a chain of snapshot goals (``sim2sim/chain.py``).

Writes a JSON report (success, E_h and E_o in cm, falls, joint-limit hits, max torque);
``--render`` an MP4; ``--viewer`` the interactive MuJoCo viewer with keyboard teleop;
``--episodes N --perturb`` repeats with random pushes for a robustness figure.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import tyro

from contract.goals.masks import pattern_mask
from contract.policy import Policy, PolicyError
from robots.atomic import write_text
from robots.clip import load_clip
from sim2sim.chain import load_chain
from sim2sim.harness import Sim2Sim, Sim2SimSettings
from sim2sim.teleop import KEYS_HELP, Teleop


@dataclass
class Args:
    policy: Path
    """Exported policy (.onnx from python -m training export)."""
    motion: Path
    """Reference clip (.npz)."""
    episodes: int = 1
    perturb: bool = False
    """Push the pelvis (up to 0.5 m/s) every 1-3 s."""
    report: Path | None = None
    """Write the JSON report here (default: print it)."""
    render: Path | None = None
    """Write an MP4 of the first episode."""
    viewer: bool = False
    """Open the interactive viewer with keyboard teleop (needs a display)."""
    physics_hz: float = 1000.0
    latency_ms: float = 5.0
    sensor_noise: bool = True
    seed: int = 0
    goals: str = "full"
    """Stage 2 policies: the goal pattern taken from the clip (full, snapshot, trajectory,
    contact, snapshot+trajectory, contact+trajectory); keys 1-9 / g in the viewer."""
    sample: bool = False
    """Stage 2 policies: sample the latent (seeded, held per episode) instead of its mean."""
    goal_sequence: Path | None = None
    """Stage 2/3 policies: a JSON goal chain (sim2sim/chain.py), reached one after the other."""


def main() -> None:
    args = tyro.cli(Args, prog="python sim2sim/run_mujoco.py", description=__doc__)
    try:
        policy = Policy.load(args.policy)  # every check happens before physics starts
        clip = load_clip(args.motion)
        pattern_mask(args.goals)  # an unknown pattern fails here, not mid-run
        chain = load_chain(args.goal_sequence) if args.goal_sequence else None
        if chain and policy.goals is None:
            raise ValueError(f"{args.policy} is a Stage 1 policy: it takes no goal sequence")
    except (PolicyError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    noise = (
        {} if args.sensor_noise else dict(joint_pos_noise=0.0, joint_vel_noise=0.0, gyro_noise=0.0)
    )
    settings = Sim2SimSettings(
        physics_hz=args.physics_hz, latency_ms=args.latency_ms,
        push_velocity=0.5 if args.perturb else 0.0, seed=args.seed, goals=args.goals,
        sample=args.sample, **noise,
    )  # fmt: skip
    sim = Sim2Sim(policy, clip, settings, chain)
    if args.viewer:
        Teleop(sim).run_viewer()
        return
    episodes = [
        sim.episode(record=(i == 0 and args.render is not None)) for i in range(args.episodes)
    ]
    if args.render is not None:
        from contract.state import rollout_clip
        from robots.render import render_video

        states = episodes[0].pop("states")
        source = {"sim2sim": str(sim.policy.path)}
        render_video(
            rollout_clip(states, sim.policy.control_hz, sim.clip.object, source), args.render
        )
    for e in episodes:
        e.pop("states", None)
    report = {
        "policy": str(args.policy),
        "motion": str(args.motion),
        "settings": settings.__dict__,
        "episodes": episodes,
        "success_rate": float(np.mean([e["success"] for e in episodes])),
        "E_h_cm": float(np.mean([e["E_h_cm"] for e in episodes])),
        "E_o_cm": float(np.mean([e["E_o_cm"] for e in episodes])),
        "fall_rate": float(np.mean([e["fell"] for e in episodes])),
        "joint_limit_hits": int(sum(e["joint_limit_hits"] for e in episodes)),
        "max_torque_nm": float(max(e["max_torque_nm"] for e in episodes)),
    }
    text = json.dumps(report, indent=2)
    if args.report is not None:
        write_text(args.report, text + "\n")
    print(text)


if __name__ == "__main__":
    if "--viewer" in sys.argv:
        print(KEYS_HELP, file=sys.stderr)
    main()
