"""The Stage 1 expert as a labeller: an exported ONNX policy or a Stage 1 run directory,
with the environment configuration it was trained in. Students act from the default
pose; the labels of an expert trained with reference-based actions are re-based."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from contract.actions import clip_action, joint_scale, rebase
from contract.observations import term_slice
from robots import g1
from robots.clip import MotionClip
from training.deployment_physics import StudentPhysics, deployment_physics
from training.env import EnvConfig

# (N, obs) float32 -> (N, 29) clipped actions, in the environment's namespace
Expert = Callable[[np.ndarray], np.ndarray]


def expert_env_config(
    path: Path,
    num_envs: int,
    clips: Sequence[MotionClip] = (),
    randomize: bool | None = None,
    physics: StudentPhysics = "expert",
) -> tuple[EnvConfig, list[str]]:
    """The student's environment: the expert's settings with ``num_envs``, actions from
    the default pose and unperturbed starts; and, for a run directory, the expert's motion files.
    ``randomize`` turns the robustness randomization on or off (None: as the expert's
    run; an ONNX file does not record it, so on); ``physics`` "deployment" puts the
    student in sim2sim's physics (``training.deployment_physics``). For a
    reference-based expert on ``clips`` the action clip widens by the largest
    reference-to-default offset in action units, so that every target the expert sets
    stays reachable (wrist joints need up to 15 units on the lift clip)."""
    path = Path(path)
    source = _source(path)
    if path.suffix == ".onnx":
        p = source
        cfg = EnvConfig(
            num_envs=num_envs, control_hz=p.control_hz, future_offsets=p.future_offsets,
            action_clip=p.action_clip, gains=p.gain_profile,
        )  # fmt: skip
        motions = []
    else:
        from training.play import env_config

        saved = source
        # The expert's physics, not its start distribution: the caller sets the starts.
        cfg = env_config(saved, num_envs=num_envs, action_base="default", start_joint_noise=0.0)
        motions = list(saved["motions"])
    if clips and _base(source) == "reference":
        scale = joint_scale(cfg.action_scale, g1.gains(cfg.gains)[0])
        offset = max(np.abs((c.joint_pos - g1.DEFAULT_POS) / scale).max() for c in clips)
        cfg = replace(cfg, action_clip=float(np.ceil(cfg.action_clip + offset)))
    if physics == "deployment":
        cfg = deployment_physics(cfg)
    if randomize is not None:
        cfg = replace(cfg, randomization=replace(cfg.randomization, enabled=randomize))
    return cfg, motions


def _source(path: Path):
    """The expert's file once: the loaded ONNX policy, or the run's saved config."""
    if path.suffix == ".onnx":
        from contract.policy import Policy

        return Policy.load(path)
    from training.play import load_run

    return load_run(path)


def _base(source) -> str:
    if isinstance(source, dict):
        return source["env"].get("action_base", "default")
    return source.action_base


def _clip(source) -> float:
    """The action clip the expert was trained with."""
    if isinstance(source, dict):
        return float(source["env"]["action_clip"])
    return source.action_clip


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
    import torch

    if not isinstance(source, dict):
        policy = source
        scale = joint_scale(env.cfg.action_scale, g1.gains(env.cfg.gains)[0])
        if not np.allclose(policy.action_scale, scale):
            raise ValueError(f"{path}: action scale differs from the environment's")
        if env.xp is np:
            return policy
        from training.onnx_torch import OnnxTorch

        net = OnnxTorch(path, env.frame.device)  # the environment's device: no host trip
        return lambda obs: clip_action(net(obs), policy.action_clip)

    from training.stage1 import PpoConfig, Runner, TorchVecEnv

    ppo = PpoConfig(**{**source["ppo"], "hidden_dims": tuple(source["ppo"]["hidden_dims"])})
    vec = TorchVecEnv(env)
    runner = Runner(vec, ppo, path, total=0, quiet=True)
    if not runner.resume():
        raise FileNotFoundError(f"{path} has no checkpoint yet")
    act = runner.get_inference_policy()

    def expert(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            action = act(vec._wrap(obs))
        return action if vec.on_device else action.numpy()

    return expert
