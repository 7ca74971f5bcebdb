"""The Stage 1 expert as a labeller: an exported ONNX policy or a Stage 1 run directory,
with the environment configuration it was trained in. Students act from the default
pose; the labels of an expert trained with reference-based actions are re-based."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from training.actions import rebase
from training.env import EnvConfig

Expert = Callable[[np.ndarray], np.ndarray]  # (N, obs) float32 -> (N, 29) clipped actions


def expert_env_config(path: Path, num_envs: int) -> tuple[EnvConfig, list[str]]:
    """The expert's environment settings (with ``num_envs``, and default-pose actions:
    the student's environment) and, for a run directory, its motion files."""
    path = Path(path)
    if path.suffix == ".onnx":
        from sim2sim.policy import Policy

        p = Policy.load(path)
        cfg = EnvConfig(
            num_envs=num_envs, control_hz=p.control_hz, future_offsets=p.future_offsets,
            action_clip=p.action_clip, gains=p.metadata["g1hoi_gain_profile"],
        )  # fmt: skip
        return cfg, []
    from training.play import env_config, load_run

    saved = load_run(path)
    return env_config(saved, num_envs=num_envs, action_base="default"), list(saved["motions"])


def _base(path: Path) -> str:
    if path.suffix == ".onnx":
        from sim2sim.policy import Policy

        return Policy.load(path).action_base
    from training.play import load_run

    return load_run(path)["env"].get("action_base", "default")


def load_expert(path: Path, env) -> Expert:
    """The expert's deterministic action for observations of ``env`` (a HoiEnv built
    with ``expert_env_config``), as an action of ``env`` (from the default pose)."""
    path = Path(path)
    act = _load(path, env)
    if _base(path) == "default":
        return act

    def rebased(obs: np.ndarray) -> np.ndarray:
        reference = env.refs.state(env.clip, env.frame + 1)[0].joint_pos
        return rebase(act(obs), reference, env.action_base(), env.action_scale)

    return rebased


def _load(path: Path, env) -> Expert:
    if path.suffix == ".onnx":
        from sim2sim.policy import Policy

        policy = Policy.load(path)
        if not np.allclose(policy.action_scale, env.action_scale):
            raise ValueError(f"{path}: action scale differs from the environment's")
        return policy
    import torch

    from training.play import load_run
    from training.stage1 import PpoConfig, Runner, TorchVecEnv, rsl_config

    saved = load_run(path)
    ppo = PpoConfig(**{**saved["ppo"], "hidden_dims": tuple(saved["ppo"]["hidden_dims"])})
    vec = TorchVecEnv(env)
    runner = Runner(vec, rsl_config(ppo), path, total=0, quiet=True)
    if not runner.resume():
        raise FileNotFoundError(f"{path} has no checkpoint yet")
    act = runner.get_inference_policy()

    def expert(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return act(vec._wrap(obs)).numpy()

    return expert
