"""The Stage 1 expert as a labeller: an exported ONNX policy or a Stage 1 run directory,
with the environment configuration it was trained in. Students act from the default
pose; the labels of an expert trained with reference-based actions are re-based."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from contract.actions import clip_action, joint_scale, rebase
from contract.observations import term_slice
from contract.policy import Policy
from robots import g1
from robots.clip import MotionClip
from training import runs
from training.env import EnvConfig
from training.onnx_torch import OnnxTorch
from training.stage1 import trained_policy

# (N, obs) float32 -> (N, 29) clipped actions, in the environment's namespace
Expert = Callable[[np.ndarray], np.ndarray]


def expert_env_config(path: Path, clips: Sequence[MotionClip] = ()) -> tuple[EnvConfig, list[str]]:
    """The student's environment: the expert's settings with actions from the default
    pose and unperturbed starts; and, for a run directory, the expert's motion files.
    For a reference-based expert on ``clips`` the action clip widens by the largest
    reference-to-default offset in action units, so that every target the expert sets
    stays reachable (wrist joints need up to 15 units on the lift clip). The command
    places it and applies its overrides (``training.configs.environment``)."""
    path = Path(path)
    source = _source(path)
    if path.suffix == ".onnx":
        p = source
        cfg = EnvConfig(control_hz=p.control_hz, future_offsets=p.future_offsets,
                        action_clip=p.action_clip, gains=p.gain_profile)  # fmt: skip
        motions = []
    else:
        # The expert's physics, not its start distribution: the caller sets the starts.
        cfg = replace(source.env, action_base="default", start_joint_noise=0.0)
        motions = list(source.motions)
    if clips and _base(source) == "reference":
        scale = joint_scale(cfg.action_scale, g1.gains(cfg.gains)[0])
        offset = max(np.abs((c.joint_pos - g1.DEFAULT_POS) / scale).max() for c in clips)
        cfg = replace(cfg, action_clip=float(np.ceil(cfg.action_clip + offset)))
    return cfg, motions


def _source(path: Path):
    """The expert's file once: the loaded ONNX policy, or the Stage 1 run's config."""
    if path.suffix == ".onnx":
        return Policy.load(path)
    stage, cfg = runs.read(path)
    if stage != 1:
        raise ValueError(f"{path} is a Stage {stage} run, not a Stage 1 expert")
    return cfg


def _base(source) -> str:
    return source.action_base if isinstance(source, Policy) else source.env.action_base


def _clip(source) -> float:
    """The action clip the expert was trained with."""
    return source.action_clip if isinstance(source, Policy) else source.env.action_clip


def load_expert(path: Path, env) -> Expert:
    """The expert's deterministic action for observations of ``env`` (a HoiEnv built
    with ``expert_env_config``), as an action of ``env`` (from the default pose)."""
    path = Path(path)
    source = _source(path)
    act = _load(path, source, env)
    if _base(source) == "default":
        return act
    last = term_slice("last_action")
    expert_clip = _clip(source)

    def rebased(obs: np.ndarray) -> np.ndarray:
        # The expert reads its own last action: the executed one in its terms (0 on an
        # episode's first step, as in its training).
        xp = env.xp
        obs = xp.asarray(obs, copy=True)
        now = env.refs.state(env.clip, env.frame)[0].joint_pos
        own = rebase(obs[:, last], env.action_base(), now, env.action_scale)
        obs[:, last] = xp.where(env.steps[:, None] == 0, 0.0, own)
        action = clip_action(act(obs), expert_clip)
        ahead = env.refs.state(env.clip, env.frame + 1)[0].joint_pos
        return rebase(action, ahead, env.action_base(), env.action_scale)

    return rebased


def _load(path: Path, source, env) -> Expert:
    if isinstance(source, Policy):
        policy = source
        scale = joint_scale(env.cfg.action_scale, g1.gains(env.cfg.gains)[0])
        if not np.allclose(policy.action_scale, scale):
            raise ValueError(f"{path}: action scale differs from the environment's")
        if env.xp is np:
            return policy
        net = OnnxTorch(path, env.frame.device)  # the environment's device: no host trip
        return lambda obs: clip_action(net(obs), policy.action_clip)

    vec, act = trained_policy(path, env)

    def expert(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            action = act(vec._wrap(obs))
        return action if vec.on_device else action.numpy()

    return expert
