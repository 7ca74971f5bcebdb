"""Run an exported policy in MuJoCo with sim2sim physics: ``python sim2sim/run_mujoco.py
--policy policy.onnx --motion CLIP.npz``. numpy + onnxruntime only (no torch). Stage 1
policies track the clip; Stage 2/3 policies get goals from it under ``--goals PATTERN``
or, with ``--goal-sequence FILE``, a chain of snapshot goals (``contract/goals/chain.py``).

Writes a JSON report (success, E_h and E_o in cm, falls, the termination that ended each
episode, joint-limit hits, max torque); ``--render`` an MP4; ``--viewer`` the interactive
MuJoCo viewer with keyboard teleop; ``--episodes N --push-velocity 0.5`` repeats with
random pushes for a robustness figure. The flags are the fields of ``Sim2SimSettings``;
``--physics.*`` the physics (the contact model shared with training at 1 kHz by
default; e.g. ``--physics.timestep 0.005`` for training's rate).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tyro

from common.atomic import write_text
from contract.goals.chain import load_chain
from contract.goals.masks import pattern_mask
from contract.policy import Policy, PolicyError
from contract.policy_file import clip_warning
from robots.clip import load_clip
from sim2sim.harness import Sim2Sim, Sim2SimSettings, summary
from sim2sim.teleop import KEYS_HELP, Teleop


@dataclass
class Args:
    policy: Path
    """Exported policy (.onnx from python -m training export)."""
    motion: Path
    """Reference clip (.npz)."""
    settings: Annotated[Sim2SimSettings, tyro.conf.arg(name="")] = Sim2SimSettings()
    episodes: int = 1
    report: Path | None = None
    """Write the JSON report here (default: print it)."""
    render: Path | None = None
    """Write an MP4 of the first episode."""
    viewer: bool = False
    """Open the interactive viewer with keyboard teleop (needs a display)."""
    goal_sequence: Path | None = None
    """Stage 2/3 policies: a JSON goal chain (contract/goals/chain.py), reached one after
    the other."""


def main() -> None:
    args = tyro.cli(Args, prog="python sim2sim/run_mujoco.py", description=__doc__)
    settings = args.settings
    try:
        policy = Policy.load(args.policy)  # every check happens before physics starts
        clip = load_clip(args.motion)
        if warning := clip_warning(policy, args.motion):
            print(f"warning: {warning}", file=sys.stderr)
        pattern_mask(settings.goals)  # an unknown pattern fails here, not mid-run
        chain = load_chain(args.goal_sequence) if args.goal_sequence else None
        if chain and policy.goals is None:
            raise ValueError(f"{args.policy} is a Stage 1 policy: it takes no goal sequence")
        if args.episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {args.episodes}")
        sim = Sim2Sim(policy, clip, settings, chain)
    except (PolicyError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if args.viewer:
        Teleop(sim).run_viewer()
        return
    episodes = []
    for i in range(args.episodes):
        episodes.append(sim.episode(record=(i == 0 and args.render is not None)))
        if args.episodes > 1:  # minutes of silence otherwise
            e = episodes[-1]
            outcome = "success" if e["success"] else "failure"
            print(f"episode {i + 1}/{args.episodes}: {outcome} ({e['ended_by'] or 'end'}, "
                  f"{e['survival_s']:.1f} s)", file=sys.stderr)  # fmt: skip
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
        "settings": asdict(settings),
        "episodes": episodes,
        **summary(episodes),
    }
    text = json.dumps(report, indent=2)
    if args.report is None:
        print(text)
    else:
        write_text(args.report, text + "\n")
        print(
            f"wrote {args.report}: success {report['success_rate']:.2f}, "
            f"ended by {[e['ended_by'] or 'end' for e in episodes]}"
        )


if __name__ == "__main__":
    if "--viewer" in sys.argv:
        print(KEYS_HELP, file=sys.stderr)
    main()
