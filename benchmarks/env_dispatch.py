"""What one control step of the device environment asks of the host, counted.

On a GPU the environment's speed beside raw physics is decided by the host's work per
control step: each torch operation is a launch from Python (microseconds each), and each
host sync or upload stops the host until the GPU has caught up (``training.op_count``
says what is counted). The counts are the same on any device and under any load, so this
runs on warp's CPU device as well as on CUDA. Per control step: torch operations (and the
views among them, which launch no kernel), host syncs, uploads and the backend's graph
launches, then the code that dispatched most operations.

``--loop env`` runs the environment as ``benchmarks/env_speed.py`` does (noisy actions
around the default pose, so robots fall and get reset), with the training randomization;
``--loop stage2`` a Stage 2 rollout (the bundled expert in torch, goals, the student,
the storage), ``--loop stage3 --init RUN`` a Stage 3 in-betweening rollout from a Stage
2 run (fallen and in-betweening starts, the PPO storage).

    python benchmarks/env_dispatch.py [--num-envs 256] [--steps 20] [--device cpu]
    python benchmarks/env_dispatch.py --loop stage2 --num-envs 16
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import tyro

from common.array_namespace import like
from robots import g1
from robots.clip import load_clip
from training.env import EnvConfig, HoiEnv
from training.op_count import ROOT, OpCount


@dataclass
class Args:
    num_envs: int = 256
    """Enough that simulations are reset every control step, as in training."""
    steps: int = 20
    """Control steps counted (the Stage 2 and 3 loops: their rollout's length)."""
    device: str = "cpu"
    """The warp backend's device: cpu, cuda or cuda:N."""
    loop: Literal["env", "stage2", "stage3"] = "env"
    clip: Path = ROOT / "sim2sim/policies/stage1_lift_clip.npz"
    init: Path | None = None
    """The Stage 2 run a Stage 3 loop starts from."""
    noise: float = 0.3
    """Action noise (policy units) of the env loop."""
    top: int = 15
    """Call sites to list (this project's innermost function dispatching the operation)."""


def env_loop(args: Args):
    """(environment, warm-up, the counted k control steps): the environment under noisy
    actions, one step of warm-up."""
    n, k = args.num_envs, args.steps
    cfg = EnvConfig(num_envs=n, backend="warp", device=args.device)
    env = HoiEnv([load_clip(args.clip)], cfg, on_device=True)
    rng = np.random.default_rng(0)
    actions = like(rng.normal(scale=args.noise, size=(k + 1, n, g1.NUM_JOINTS)), env.last_action)

    def run() -> None:
        for a in actions[1:]:
            env.step(a)

    return env, lambda: env.step(actions[0]), run


def stage2_loop(args: Args):
    from training.configs import Placement, Stage2Config
    from training.stage2 import Stage2

    placement = Placement(args.num_envs, backend="warp", device=args.device)
    cfg = Stage2Config(expert=str(ROOT / "sim2sim/policies/stage1_lift.onnx"),
                       placement=placement, steps_per_iter=args.steps)  # fmt: skip
    run = Stage2(cfg, [load_clip(args.clip)])
    return run.env, run.rollout, run.rollout


def stage3_loop(args: Args):
    from training.configs import Placement, Stage3Config
    from training.stage3 import Stage3

    if args.init is None:
        raise SystemExit("--loop stage3 needs --init RUN (a Stage 2 run)")
    placement = Placement(args.num_envs, backend="warp", device=args.device)
    cfg = Stage3Config(init=str(args.init), placement=placement, steps_per_iter=args.steps)
    run = Stage3(cfg)
    return run.env, run.rollout, run.rollout


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/env_dispatch.py", description=__doc__)
    n, k = args.num_envs, args.steps
    loops = {"env": env_loop, "stage2": stage2_loop, "stage3": stage3_loop}
    env, warm_up, run = loops[args.loop](args)
    warm_up()  # compiles and captures the graphs
    backend, launches = env.backend, [0]
    launch = backend.launch

    def counted(key, calls):
        launches[0] += 1
        launch(key, calls)

    backend.launch = counted
    step, resets = env.step, [0]

    def step_counting_resets(action):
        out = step(action)
        resets[0] += len(out[4]["reset_ids"])  # a shape: no operation
        return out

    env.step = step_counting_resets
    count = OpCount(sites=True)
    with count:
        run()
    resets = resets[0]
    print(f"{args.loop} loop, {n} simulations on {args.device}, {k} control steps, {resets} "
          f"resets ({resets / k:.1f} per step); per control step:")  # fmt: skip
    print(f"  torch operations {count.ops / k:7.1f} ({count.views / k:.1f} of them views)")
    print(f"  host syncs       {count.syncs / k:7.1f}")
    print(f"  uploads          {count.uploads / k:7.1f}")
    print(f"  graph launches   {launches[0] / k:7.1f}")
    print("operations per control step by call site:")
    for site, ops in count.sites.most_common(args.top):
        print(f"  {ops / k:7.1f}  {site}")


if __name__ == "__main__":
    main()
