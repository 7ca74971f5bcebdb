"""Evaluate a Stage 1 run the way the papers do (``training.evaluate.attempts``): every
clip from its first frame, the deterministic policy, until the clip ends (success) or an
early termination.

- success rate: attempts that reach the clip's last frame without early termination
  (InterMimic reports best-of-N attempts; here every attempt counts, and the any-of-N
  rate is given beside it when ``episodes`` > 1);
- E_h: mean key-body position error (cm) over the frames each attempt lived;
- E_o: mean object error (cm) over 1024 object surface points, same frames;
- fall rate: attempts that ended by falling.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from contract.goals.tokens import GoalConfig
from contract.state import rollout_clip
from contract.terminations import TerminationConfig
from robots.g1.mjcf import SimOptions
from training.env import EnvConfig, HoiEnv
from training.evaluate import attempts
from training.randomization import RandomizationConfig
from training.rewards import RewardConfig
from training.stage1 import CONFIG, PpoConfig, Runner, TorchVecEnv, load_clips


def load_run(run_dir: Path) -> dict:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a training run (no {CONFIG})")
    return json.loads(path.read_text())


def env_config(saved: dict, **overrides) -> EnvConfig:
    env = dict(saved["env"])
    env["rewards"] = RewardConfig(**env["rewards"])
    env["terminations"] = TerminationConfig(**env["terminations"])
    rand = env["randomization"]
    for key in (
        "object_mass_scale",
        "object_friction",
        "foot_friction",
        "gain_scale",
        "push_interval_s",
    ):
        rand[key] = tuple(rand[key])
    env["randomization"] = RandomizationConfig(**rand)
    env["future_offsets"] = tuple(env["future_offsets"])
    # Runs saved before the physics settings object recorded only the timestep.
    env["physics"] = SimOptions(**env["physics"]) if "physics" in env else SimOptions(
        timestep=env.pop("physics_dt"))  # fmt: skip
    return replace(EnvConfig(**env), **overrides)


def load_policy(run_dir: Path, num_envs: int, episode_seconds: float | None = None, **placement):
    """The run's environment (no randomization, no PSI: evaluation as in the papers;
    ``placement``: its ``backend`` and ``device``), its rsl-rl view and the trained
    deterministic policy."""
    saved = load_run(run_dir)
    clips = load_clips(list(saved["motions"]))
    longest = max(c.duration for c in clips)
    env = HoiEnv(
        clips,
        env_config(
            saved, num_envs=num_envs, episode_seconds=episode_seconds or longest + 1.0,
            psi_prob=0.0, randomization=RandomizationConfig(enabled=False), **placement,
        ),
    )  # fmt: skip
    ppo = PpoConfig(**{**saved["ppo"], "hidden_dims": tuple(saved["ppo"]["hidden_dims"])})
    vec = TorchVecEnv(env)
    runner = Runner(vec, ppo, Path(run_dir), total=0, quiet=True)
    if not runner.resume():
        raise FileNotFoundError(f"{run_dir} has no checkpoint yet")
    return env, vec, runner.get_inference_policy()


def evaluate(run_dir: Path, episodes: int = 1, video: Path | None = None,
             action_noise: float = 0.0, **placement) -> dict:  # fmt: skip
    """``action_noise``: Gaussian noise of that std (action units) on every executed
    action (``attempts``); ``placement``: the physics ``backend`` and ``device``
    (default: the CPU batch)."""
    clips = load_clips(list(load_run(run_dir)["motions"]))
    env, vec, policy = load_policy(run_dir, len(clips) * episodes, **placement)

    def actor(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return policy(vec._wrap(obs)).numpy()

    record = [] if video is not None else None
    report = attempts(env, len(clips), "full", GoalConfig(), actor, record, action_noise)
    if record:
        from robots.render import render_video

        source = {"rollout_of": clips[0].source}
        render_video(rollout_clip(record, env.cfg.control_hz, clips[0].object, source), video)
    return {"clips": len(clips), **report,
            "clip_duration_s": float(np.mean([c.duration for c in clips]))}  # fmt: skip
