"""Deploy loop timing over loopback DDS against the virtual G1, for ``--seconds`` (60):
control period jitter (|actual - 2 ms| between the node's successive LowCmds), the
node's LowState-to-LowCmd latency (the LowState's arrival in the node to the LowCmd
written on it) and the robot-side round trip (LowState written by the virtual G1 to the
next LowCmd received by it, through DDS both ways), p50 and p99.

Both processes run as in deployment: ``deploy/virtual_g1.py --gantry`` and
``deploy/g1_node.py --auto`` (policy state after ~1.5 s) with a hold-pose policy of the
default network size (MLP 1024-1024-512: a real policy's inference cost, zero actions).
The run is made twice, on the machine as it is and with a CPU hog beside it (one busy
process per core), and the faults of each run are listed: the node's watchdogs end a
run in damping when the load starves it.

    python benchmarks/deploy_loop.py [--seconds 60] [--no-hog]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import tyro
from cpu_hog import cpu_hog

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass
class Args:
    seconds: float = 60.0
    domain: int = 97
    rt_priority: int = 0
    """SCHED_FIFO priority for both processes (node one above the robot); 0: normal."""
    hog: bool = True
    """Also measure with a busy process per core beside the robot and the node."""


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/deploy_loop.py", description=__doc__)
    results = {"as is": measure(args)}
    if args.hog:
        with cpu_hog():
            results["with a CPU hog per core"] = measure(args)
    print(json.dumps(results, indent=2))


def measure(args: Args) -> dict:
    from deploy.hold_policy import write_hold_policy
    from retarget.pipeline import retarget
    from retarget.synthetic import synthetic_motion

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = retarget(synthetic_motion()).clip
        clip_path = clip.save(tmp / "clip.npz")
        policy = write_hold_policy(tmp / "hold.onnx", clip.object, hidden=(1024, 1024, 512))
        robot = subprocess.Popen(
            [sys.executable, str(REPO / "deploy/virtual_g1.py"), "--domain", str(args.domain),
             "--gantry", "--seconds", str(args.seconds + 3), "--report", str(tmp / "vg1.json"),
             "--rt-priority", str(args.rt_priority)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        log = tmp / "session.jsonl"
        node_priority = min(99, args.rt_priority + 1) if args.rt_priority else 0
        node = subprocess.run(
            [sys.executable, str(REPO / "deploy/g1_node.py"), "--policy", str(policy),
             "--motion", str(clip_path), "--net", "lo", "--domain", str(args.domain), "--auto",
             "--move-seconds", "1", "--hold-seconds", "0.5", "--seconds", str(args.seconds),
             "--log", str(log), "--rt-priority", str(node_priority), "--object-from-reference"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=args.seconds + 60,
        )  # fmt: skip
        if node.returncode != 0:
            raise RuntimeError(f"the node failed: {node.stderr[-2000:]}")
        robot.wait(timeout=30)
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        robot = json.loads((tmp / "vg1.json").read_text())
    keys = ("cycles", "jitter_p50_ms", "jitter_p99_ms", "latency_p50_ms", "latency_p99_ms",
            "bad_crc")  # fmt: skip
    result = {k: entries[-1][k] for k in keys}
    result |= {k: robot[k] for k in ("round_trip_p50_ms", "round_trip_p99_ms", "rejected")}
    result["faults"] = [e["reason"] for e in entries if e["kind"] == "fault"]
    return result


if __name__ == "__main__":
    main()
