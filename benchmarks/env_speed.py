"""Environment throughput against raw physics, same scene, same run.

The env (observations, rewards, terminations, resets; on the warp backend in torch on its
device, as Stage 1 trains) runs with noisy actions (default
pose plus Gaussian target noise, redrawn every control period, so robots move, fall,
touch the box and get reset like under a learning policy). Two raw-physics figures:
- "physics in the env run": the time the backend's step itself took inside that run,
  i.e. raw physics on exactly the same states; the ratio env / this is the env overhead
  (on CUDA, where the host queues physics and goes on, the device's time between CUDA
  events around each step);
- "raw loop": ``mujoco.batch`` (``Batch.step`` from the standing keyframe with the same
  control noise, resetting fallen simulations: states differ, more of them lie still),
  or for ``--backend warp`` bare ``mujoco_warp.step`` calls on the device, captured in
  a graph as MuJoCo Warp's ``testspeed`` does;
- for ``--backend warp`` also "raw from the env's states": the same bare graph from the
  states the env run ended in (robots holding the box, falling, as the env simulates
  them; no resets), the physics workload of the env run also on CUDA.
Policy steps per second (4 physics steps each); the batch backend with 1 and 2 threads;
the shared contact model (elliptic cone, impratio 10, 50 iterations) and the previous
training physics (pyramidal, impratio 1, 10 iterations) side by side in one run.

    python benchmarks/env_speed.py [--num-envs 256] [--steps 100]
    python benchmarks/env_speed.py --backend warp --device cuda --num-envs 4096
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import tyro

from common.array_namespace import like
from robots import g1
from robots.clip import load_clip
from robots.g1.mjcf import PYRAMIDAL, SimOptions
from training.backend import BackendName
from training.env import EnvConfig, HoiEnv

PHYSICS = {"shared": SimOptions(), "pyramidal": PYRAMIDAL}


@dataclass
class Args:
    num_envs: int = 256
    steps: int = 100
    noise: float = 0.3
    """Action noise (policy units); the raw loop gets the same target noise."""
    backend: BackendName = "batch"
    device: str = "cpu"
    """The warp backend's device: cuda, cuda:N or cpu."""
    clip: Path | None = None
    """A G1 clip (.npz) to run; default: the synthetic walk-lift-carry clip, retargeted."""
    physics: tuple[Literal["shared", "pyramidal"], ...] = ("shared", "pyramidal")
    """Contact models to time (each compiles its own kernels on warp's first run)."""


class TimedBackend:
    """Wraps a backend and accumulates the time spent stepping physics: on the host, or
    on a CUDA device between events recorded in its stream around each step (no wait
    for the device until ``seconds`` is read)."""

    def __init__(self, backend, cuda: bool = False):
        self.inner, self.cuda = backend, cuda
        self._host, self._events = 0.0, []

    def step(self, nstep: int, ctrl=None) -> None:
        if self.cuda:
            import torch

            start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            start.record()
            self.inner.step(nstep, ctrl)
            end.record()
            self._events.append((start, end))
            return
        start = time.perf_counter()
        self.inner.step(nstep, ctrl)
        self._host += time.perf_counter() - start

    @property
    def seconds(self) -> float:
        for _, end in self._events:
            end.synchronize()
        return self._host + sum(s.elapsed_time(e) for s, e in self._events) / 1e3

    def __getattr__(self, name):
        return getattr(self.inner, name)


def asynchronous(env: HoiEnv) -> bool:
    """Whether the environment queues its work on a CUDA device."""
    return env.xp is not np and env.frame.device.type == "cuda"


def synchronize(env: HoiEnv) -> None:
    """Wait for the device's queued work."""
    if asynchronous(env):
        import torch

        torch.cuda.synchronize(env.frame.device)


def raw_batch(backend, actions: np.ndarray, env: HoiEnv) -> float:
    """Policy steps/s of a bare ``Batch.step`` loop under the same target noise."""
    n = backend.nsim
    backend.reset(np.arange(n))
    backend.forward()
    ctrl, qpos = backend.field("ctrl"), backend.field("qpos")
    start = time.perf_counter()
    for a in actions:
        ctrl[:] = g1.DEFAULT_POS + a * env.action_scale
        backend.step(env.decimation)
        fallen = np.flatnonzero(qpos[:, 2] < 0.3)
        if len(fallen):
            backend.reset(fallen)
            backend.forward(fallen)
    return len(actions) * n / (time.perf_counter() - start)


def raw_warp(backend, actions: np.ndarray, env: HoiEnv) -> float:
    """Policy steps/s of bare ``mujoco_warp.step`` calls from the keyframe, one captured
    graph per control step as MuJoCo Warp's own ``testspeed`` times them (no host
    copies, no resets)."""
    backend.reset(np.arange(backend.nsim))
    backend.field("ctrl")[:] = env.action_base() + actions[0] * env.action_scale
    backend.forward()
    return raw_warp_here(backend, len(actions), env)


def raw_warp_here(backend, steps: int, env: HoiEnv) -> float:
    """Policy steps/s of the same graph from the simulations' current states and controls."""
    wp, mjw = backend.wp, backend.mjw
    with wp.ScopedDevice(backend.device):
        with wp.ScopedCapture(force_module_load=False) as capture:
            for _ in range(env.decimation):
                mjw.step(backend.m, backend.d)
        wp.capture_launch(capture.graph)
        wp.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            wp.capture_launch(capture.graph)
        wp.synchronize()
    return steps * backend.nsim / (time.perf_counter() - start)


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/env_speed.py", description=__doc__)
    if args.clip is None:
        from retarget.pipeline import retarget  # Pinocchio: only for the synthetic clip
        from retarget.synthetic import synthetic_motion

        clip = retarget(synthetic_motion()).clip
    else:
        clip = load_clip(args.clip)
    rng = np.random.default_rng(0)
    n, k = args.num_envs, args.steps
    place = "CPU threads" if args.backend == "batch" else f"MuJoCo Warp on {args.device}"
    print(f"{n} simulations (G1 + box), {k} control steps of 4 physics steps at 5 ms, {place}")
    threads = (1, 2) if args.backend == "batch" else (0,)
    raw = raw_batch if args.backend == "batch" else raw_warp
    for name, nthread in itertools.product(args.physics, threads):
        physics = PHYSICS[name]
        cfg = EnvConfig(num_envs=n, num_threads=nthread, physics=physics, backend=args.backend,
                        device=args.device)  # fmt: skip
        env = HoiEnv([clip], cfg, on_device=True)
        # actions where the environment computes (the warp backend's device)
        actions = like(rng.normal(scale=args.noise, size=(k, n, g1.NUM_JOINTS)), env.last_action)
        start = time.perf_counter()
        env.step(actions[0])  # warp compiles its kernels on first use
        first = time.perf_counter() - start
        backend = env.backend
        env.backend = timed = TimedBackend(backend, cuda=asynchronous(env))
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        synchronize(env)
        total = time.perf_counter() - start
        env.backend = backend
        env_sps = k * n / total
        phys_sps = k * n / timed.seconds
        physics = f"{phys_sps:7.0f} steps/s -> ratio {env_sps / phys_sps:.2f}"
        here = ""
        if args.backend == "warp":  # before the raw loop resets the simulations
            here_sps = raw_warp_here(backend, k, env)
            here = f" | raw from the env's states {here_sps:7.0f} -> ratio {env_sps / here_sps:.2f}"
        raw_sps = raw(backend, actions, env)
        label = f"threads {nthread}" if args.backend == "batch" else args.device
        print(
            f"{name:9s} {label}: env {env_sps:7.0f} steps/s | physics in the env run "
            f"{physics} | raw loop {raw_sps:7.0f} steps/s -> ratio {env_sps / raw_sps:.2f}"
            f"{here} | first step {first:.1f} s"
        )


if __name__ == "__main__":
    main()
