"""The node in lockstep with the virtual G1: the node's own code (state machine,
estimator, tracker checks, safety filter, policy runner) against the virtual G1's physics
and tracker, wired without DDS and stepped on a simulated clock. A run is deterministic
and independent of the machine's load, so it shows what the node does to a task, apart
from what a busy computer does to the node:

    python -m deploy.lockstep --policy P.onnx --motion CLIP.npz [--out trace.npz]

The unattended sequence of the real-time runs: the robot hangs in the gantry, the node
moves it to the default pose, the gantry is released, the node holds, then runs the
policy with the object and pelvis from the tracker. Each session is judged as sim2sim
judges an episode (``contract.judge``), from the policy's start to the clip's end.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tyro

from contract.judge import judge_recording
from contract.tracker import TrackerSettings
from deploy import g1_node, virtual_g1
from deploy.protocol.messages import LOWCMD_LAYOUT, LOWSTATE_LAYOUT, Layout
from deploy.protocol.tracking import TRACKED_LAYOUT
from robots.clip import MotionClip, load_clip


@dataclass
class Args:
    policy: Path
    """Exported policy (.onnx)."""
    motion: Path
    """Its reference clip (.npz); the virtual G1 starts the robot and object where it does."""
    move_seconds: float = 1.0
    release_after: float = 1.2
    """s from the start when the gantry lets go (after the move)."""
    hold_seconds: float = 1.0
    """s in hold before the policy."""
    tail_seconds: float = 1.0
    """s after the clip's end before the run stops."""
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    sessions: int = 1
    """Sessions to run, the tracker's noise seeded 0, 1, ... (the success rate)."""
    out: Path | None = None
    """Write the first session's trace here (.npz: time, qpos, node mode per command)."""


class _Wire:
    """A DDS writer's stand-in: each message encoded as on the wire and decoded for
    ``deliver`` (a reader gets its own sample, never the writer's buffer)."""

    def __init__(self, layout: Layout, deliver):
        self.layout, self.deliver = layout, deliver

    def write(self, msg: np.ndarray) -> None:
        self.deliver(self.layout.from_cdr(self.layout.to_cdr(msg)))


def run(args: Args, seed: int = 0) -> dict:
    """One unattended session of the node on the virtual G1 in lockstep (``seed``: the
    tracker's noise); its outcome, faults and trace."""
    clip = load_clip(args.motion)
    vg1 = virtual_g1.Args(object_clip=args.motion, gantry=True, tracker=args.tracker,
                          release_after=args.release_after, seed=seed)  # fmt: skip
    robot = virtual_g1.VirtualG1(vg1)
    now = [0.0]
    seconds = args.release_after + args.hold_seconds + clip.duration + args.tail_seconds
    with tempfile.TemporaryDirectory() as tmp:
        node = g1_node.G1Node(
            g1_node.Args(policy=args.policy, motion=args.motion, net="lo", auto=True,
                         tracker=True, tracker_latency=args.tracker.latency,
                         move_seconds=args.move_seconds, hold_seconds=args.hold_seconds,
                         seconds=seconds, log=Path(tmp) / "session.jsonl"),
            clock=lambda: now[0],
        )  # fmt: skip
        robot.writer = _Wire(LOWSTATE_LAYOUT, node._on_state)
        robot.tracker = _Wire(TRACKED_LAYOUT, node._on_tracked)
        node.writer = _Wire(LOWCMD_LAYOUT, robot._on_cmd)
        dt = robot.args.physics.timestep
        per_command = round(g1_node.COMMAND_PERIOD / dt)
        trace = {"time": [], "qpos": [], "mode": []}
        node.begin()
        while node.running and now[0] < seconds + 1.0:
            robot.tick(now[0], now[0])
            now[0] = robot.steps * dt
            if robot.steps % per_command:
                continue
            node.cycle(now[0])
            while node.worker.busy:  # inference takes no simulated time
                pass
            trace["time"].append(now[0])
            trace["qpos"].append(robot.data.qpos.copy())
            trace["mode"].append(node.mode.value)
        entries = [line for line in (Path(tmp) / "session.jsonl").read_text().splitlines()]
    trace = {k: np.asarray(v) for k, v in trace.items()}
    faults = [e for e in entries if '"kind": "fault"' in e]
    return {**judged(robot, clip, node.policy.control_hz, trace), "faults": faults,
            "trace": trace}  # fmt: skip


def judged(robot: virtual_g1.VirtualG1, clip: MotionClip, hz: float, trace: dict) -> dict:
    """Sim2sim's judgement of the session from the policy's start (``contract.judge``;
    never in policy: a failure), with the box's highest lift and the pelvis height at
    the clip's end."""
    on = np.flatnonzero(trace["mode"] == g1_node.Mode.POLICY.value)
    if not len(on):
        return {"success": False, "lifted_m": 0.0, "pelvis_height_m": float(trace["qpos"][-1, 2])}
    times, qpos = trace["time"][on[0] :] - trace["time"][on[0]], trace["qpos"][on[0] :]
    o = robot.obj_q
    end = min(int(np.searchsorted(times, clip.duration)), len(times) - 1)
    return {**judge_recording(robot.model, clip, hz, times, qpos),
            "lifted_m": float(qpos[:, o + 2].max() - clip.object_pos[0, 2]),
            "pelvis_height_m": float(qpos[end, 2])}  # fmt: skip


def main() -> None:
    args = tyro.cli(Args, prog="python -m deploy.lockstep", description=__doc__)
    if args.sessions < 1:
        print(f"error: --sessions must be at least 1, not {args.sessions}", file=sys.stderr)
        sys.exit(2)
    wins = 0
    for seed in range(args.sessions):
        try:
            result = run(args, seed)
        except (OSError, ValueError) as e:  # a missing file, a policy refused at load
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        if seed == 0 and args.out is not None:
            np.savez(args.out, **result["trace"])
        wins += result["success"]
        fault = json.loads(result["faults"][0])["reason"] if result["faults"] else "none"
        print(f"session {seed}: {'success' if result['success'] else 'failure'} "
              f"({result.get('terminations') or 'no termination'}), box lifted "
              f"{result['lifted_m'] * 100:.0f} cm, pelvis {result['pelvis_height_m']:.2f} m "
              f"at the clip's end, node fault: {fault}", flush=True)  # fmt: skip
    print(f"{wins}/{args.sessions} sessions did the task")


if __name__ == "__main__":
    main()
