"""What one control step of the device environment asks of the host, counted.

On a GPU the environment's speed beside raw physics is decided by the host's work per
control step: each torch operation is a launch from Python (microseconds each), and each
host sync or upload stops the host until the GPU has caught up (``training.dispatch``
says what is counted). The counts are the same on any device and under any load, so this
runs on warp's CPU device as well as on CUDA. Per control step: torch operations (and the
views among them, which launch no kernel), host syncs, uploads and the backend's graph
launches, then the code that dispatched most operations.

It runs the environment as ``benchmarks/env_speed.py`` does (noisy actions around the
default pose, so robots fall and get reset), with the training randomization.

    python benchmarks/env_dispatch.py [--num-envs 256] [--steps 20] [--device cpu]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro

from robots import g1
from robots.array_namespace import like
from robots.clip import load_clip
from training.dispatch import ROOT, DispatchCount
from training.env import EnvConfig, HoiEnv


@dataclass
class Args:
    num_envs: int = 256
    """Enough that simulations are reset every control step, as in training."""
    steps: int = 20
    device: str = "cpu"
    """The warp backend's device: cpu, cuda or cuda:N."""
    clip: Path = ROOT / "sim2sim/policies/stage1_lift_clip.npz"
    noise: float = 0.3
    """Action noise (policy units)."""
    top: int = 15
    """Call sites to list (this project's innermost function dispatching the operation)."""


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/env_dispatch.py", description=__doc__)
    n, k = args.num_envs, args.steps
    cfg = EnvConfig(num_envs=n, backend="warp", device=args.device)
    env = HoiEnv([load_clip(args.clip)], cfg, on_device=True)
    rng = np.random.default_rng(0)
    actions = like(rng.normal(scale=args.noise, size=(k + 1, n, g1.NUM_JOINTS)), env.last_action)
    env.step(actions[0])  # compiles and captures the graphs
    backend, launches = env.backend, [0]
    launch = backend.launch

    def counted(key, calls):
        launches[0] += 1
        launch(key, calls)

    backend.launch = counted
    count, resets = DispatchCount(sites=True), 0
    with count:
        for a in actions[1:]:
            resets += len(env.step(a)[4]["reset_ids"])  # a shape: no operation
    print(f"{n} simulations on {args.device}, {k} control steps, {resets} resets "
          f"({resets / k:.1f} per step); per control step:")  # fmt: skip
    print(f"  torch operations {count.ops / k:7.1f} ({count.views / k:.1f} of them views)")
    print(f"  host syncs       {count.syncs / k:7.1f}")
    print(f"  uploads          {count.uploads / k:7.1f}")
    print(f"  graph launches   {launches[0] / k:7.1f}")
    print("operations per control step by call site:")
    for site, ops in count.sites.most_common(args.top):
        print(f"  {ops / k:7.1f}  {site}")


if __name__ == "__main__":
    main()
