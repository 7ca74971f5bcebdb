"""Deploy loop timing over loopback DDS against the virtual G1, for ``--seconds`` (60):
control period jitter (|actual - 2 ms| of the node's 500 Hz loop) and LowState-to-
LowCmd latency (newest LowState's arrival to the LowCmd written on it), p50 and p99.

Both processes run as in deployment: ``deploy/virtual_g1.py --gantry`` and
``deploy/g1_node.py --auto`` with the hold-pose policy (policy state after ~1.5 s).

    python benchmarks/deploy_loop.py [--seconds 60]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass
class Args:
    seconds: float = 60.0
    domain: int = 97


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/deploy_loop.py", description=__doc__)
    from deploy.hold_policy import write_hold_policy
    from retarget.pipeline import retarget
    from retarget.synthetic import synthetic_motion

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = retarget(synthetic_motion()).clip
        clip_path = clip.save(tmp / "clip.npz")
        policy = write_hold_policy(tmp / "hold.onnx", clip.object)
        robot = subprocess.Popen(
            [sys.executable, str(REPO / "deploy/virtual_g1.py"), "--domain", str(args.domain),
             "--gantry", "--seconds", str(args.seconds + 3)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        log = tmp / "session.jsonl"
        subprocess.run(
            [sys.executable, str(REPO / "deploy/g1_node.py"), "--policy", str(policy),
             "--motion", str(clip_path), "--net", "lo", "--domain", str(args.domain), "--auto",
             "--move-seconds", "1", "--hold-seconds", "0.5", "--seconds", str(args.seconds),
             "--log", str(log)],
            check=True, stdout=subprocess.DEVNULL, timeout=args.seconds + 60,
        )  # fmt: skip
        robot.wait(timeout=30)
        exit_entry = [json.loads(line) for line in log.read_text().splitlines()][-1]
    keys = ("cycles", "jitter_p50_ms", "jitter_p99_ms", "latency_p50_ms", "latency_p99_ms",
            "bad_crc")  # fmt: skip
    print(json.dumps({k: exit_entry[k] for k in keys}, indent=2))


if __name__ == "__main__":
    main()
