"""Environment throughput against raw ``mujoco.batch`` physics, same scene, same run.

The env (observations, rewards, terminations, resets) runs with noisy actions (default
pose plus Gaussian target noise, redrawn every control period, so robots move, fall,
touch the box and get reset like under a learning policy). Two raw-physics figures:
- "physics in the env run": the time ``Batch.step`` itself took inside that run, i.e.
  raw physics on exactly the same states; the ratio env / this is the env overhead;
- "raw loop": a bare ``Batch.step`` loop from the standing keyframe with the same
  control noise, resetting fallen simulations (states differ: more of them lie still).
Policy steps per second (4 physics steps each), for 1 and 2 threads, with the shared
contact model (elliptic cone, impratio 10, 50 iterations) and the previous training
physics (pyramidal, impratio 1, 10 iterations) side by side in one run.

    python benchmarks/env_speed.py [--num-envs 256] [--steps 100]
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import tyro

from retarget.pipeline import retarget
from retarget.synthetic import synthetic_motion
from robots import g1
from robots.g1.mjcf import PYRAMIDAL, SimOptions
from training.env import EnvConfig, HoiEnv

PHYSICS = {"shared": SimOptions(), "pyramidal": PYRAMIDAL}


@dataclass
class Args:
    num_envs: int = 256
    steps: int = 100
    noise: float = 0.3
    """Action noise (policy units); the raw loop gets the same target noise."""


class TimedBackend:
    """Wraps a backend and accumulates the time spent stepping physics."""

    def __init__(self, backend):
        self.inner, self.seconds = backend, 0.0

    def step(self, nstep: int) -> None:
        start = time.perf_counter()
        self.inner.step(nstep)
        self.seconds += time.perf_counter() - start

    def __getattr__(self, name):
        return getattr(self.inner, name)


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/env_speed.py", description=__doc__)
    clip = retarget(synthetic_motion()).clip
    rng = np.random.default_rng(0)
    n, k = args.num_envs, args.steps
    print(f"{n} simulations (G1 + box), {k} control steps of 4 physics steps at 5 ms")
    for (name, physics), threads in itertools.product(PHYSICS.items(), (1, 2)):
        env = HoiEnv([clip], EnvConfig(num_envs=n, num_threads=threads, physics=physics))
        timed = TimedBackend(env.backend)
        env.backend = timed
        actions = rng.normal(scale=args.noise, size=(k, n, g1.NUM_JOINTS))
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        total = time.perf_counter() - start
        env_sps, phys_sps = k * n / total, k * n / timed.seconds

        inner = timed.inner
        inner.reset(np.arange(n))
        inner.forward()
        ctrl, qpos = inner.field("ctrl"), inner.field("qpos")
        start = time.perf_counter()
        for a in actions:
            ctrl[:] = g1.DEFAULT_POS + a * env.action_scale
            inner.step(env.decimation)
            fallen = np.flatnonzero(qpos[:, 2] < 0.3)
            if len(fallen):
                inner.reset(fallen)
                inner.forward(fallen)
        raw_sps = k * n / (time.perf_counter() - start)
        print(
            f"{name:9s} threads {threads}: env {env_sps:7.0f} steps/s | physics in the env run "
            f"{phys_sps:7.0f} steps/s -> ratio {env_sps / phys_sps:.2f} | raw loop "
            f"{raw_sps:7.0f} steps/s -> ratio {env_sps / raw_sps:.2f}"
        )


if __name__ == "__main__":
    main()
