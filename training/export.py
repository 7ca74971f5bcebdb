"""ONNX export of a trained policy: the whole deployed computation (observation
normalization, MLP, deterministic action) in one graph, with the metadata sim2sim and
the robot node need. Keys follow mjlab where they exist (``joint_names``,
``joint_stiffness``, ``joint_damping``, ``default_joint_pos``, ``action_scale``,
``observation_names``), so existing G1 tooling can read our policies; ours go beside.
Lists are comma-separated; the object is JSON.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from robots import g1
from robots.atomic import atomic_path
from training.observations import OBSERVATION_TERMS, contract_hash, term_sizes

OPSET = 18
FORMAT = "g1hoi.policy/1"
# Largest torch-vs-onnxruntime difference, relative to max(1, |action|): float32 rounding
# grows with the magnitude of the action (a student's wrist targets reach 15 units).
PARITY_TOL = 1e-5


def _csv(values) -> str:
    return ",".join(repr(float(v)) if not isinstance(v, str) else v for v in values)


def policy_metadata(env) -> dict[str, str]:
    """Metadata of a policy trained in ``env`` (a HoiEnv)."""
    kp, kd = g1.gains(env.cfg.gains)
    offsets = tuple(env.cfg.future_offsets)
    sizes = term_sizes(len(offsets))
    return {
        "joint_names": _csv(g1.JOINT_NAMES),
        "joint_stiffness": _csv(kp),
        "joint_damping": _csv(kd),
        "default_joint_pos": _csv(g1.DEFAULT_POS),
        "action_scale": _csv(env.action_scale),
        "observation_names": _csv(name for name, _ in OBSERVATION_TERMS),
        "g1hoi_format": FORMAT,
        "g1hoi_observation_sizes": _csv(str(sizes[name]) for name, _ in OBSERVATION_TERMS),
        "g1hoi_contract_hash": contract_hash(offsets),
        "g1hoi_future_offsets": ",".join(str(o) for o in offsets),
        "g1hoi_control_hz": repr(float(env.cfg.control_hz)),
        "g1hoi_action_clip": repr(float(env.cfg.action_clip)),
        "g1hoi_action_base": env.cfg.action_base,
        "g1hoi_gain_profile": env.cfg.gains,
        "g1hoi_effort_limit": _csv(g1.EFFORT_LIMIT),
        "g1hoi_object": env.object.to_json(),
    }


def export_onnx(model: torch.nn.Module, inputs: dict[str, np.ndarray], metadata: dict[str, str],
                out: Path) -> float:  # fmt: skip
    """Write ``model`` (named inputs, batch axis dynamic, output ``actions``) with
    ``metadata`` to ``out`` atomically, after checking torch vs onnxruntime on
    ``inputs``; returns the largest difference relative to max(1, |action|)."""
    import onnx
    import onnxruntime as ort

    model = model.eval()
    names = list(inputs)
    tensors = tuple(torch.from_numpy(v) for v in inputs.values())
    with atomic_path(out) as tmp:
        torch.onnx.export(
            model, tuple(t[:1] for t in tensors), str(tmp), opset_version=OPSET, dynamo=False,
            input_names=names, output_names=["actions"],
            dynamic_axes={name: {0: "batch"} for name in [*names, "actions"]},
        )  # fmt: skip
        proto = onnx.load(str(tmp))
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(tmp))
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        with torch.inference_mode():
            expected = model(*tensors).numpy()
        got = session.run(None, inputs)[0]
        diff = float((np.abs(expected - got) / np.maximum(1.0, np.abs(expected))).max())
        if not diff <= PARITY_TOL:
            raise RuntimeError(
                f"ONNX parity check failed: max |torch - onnxruntime| / max(1, |action|) = "
                f"{diff:.3g} > {PARITY_TOL}"
            )
    return diff


def export_policy(actor, env, out: Path, recorded_obs: np.ndarray) -> dict:
    """Write ``out`` (ONNX + metadata) and check torch vs onnxruntime on ``recorded_obs``."""
    model = actor.as_onnx(verbose=False)  # normalize -> MLP -> mean action
    diff = export_onnx(model, {"obs": recorded_obs}, policy_metadata(env), out)
    return {"parity_max_rel_diff": diff, "observations": len(recorded_obs),
            "obs_dim": recorded_obs.shape[1]}  # fmt: skip


def export_run(run_dir: Path, out: Path, steps: int = 100) -> dict:
    """Export a Stage 1 run's policy, recording ``steps`` control steps of observations
    from the run's own environment (no randomization) for the parity check."""
    from training.play import load_policy

    env, vec, policy = load_policy(run_dir, num_envs=8)
    obs = vec.get_observations()
    recorded = []
    for _ in range(steps):
        recorded.append(obs["policy"].numpy().copy())
        with torch.inference_mode():
            action = policy(obs)
        obs, *_ = vec.step(action)
    report = export_policy(policy, env, out, np.concatenate(recorded))
    report["metadata"] = {k: v for k, v in policy_metadata(env).items() if k.startswith("g1hoi_")}
    return json.loads(json.dumps(report))


class LatentActor(torch.nn.Module):
    """The deployable part of a Stage 2 or 3 policy: prior + decoder. ``visible`` is 0/1
    float per goal token, ``task`` 0/1 float per task token (get-up); ``noise`` zero
    gives the deterministic action, a seeded standard-normal draw held for an episode
    gives sampled behaviour."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def forward(self, history, tokens, visible, noise, task):
        return self.policy.act(history, tokens, visible > 0.5, noise, task)


def latent_metadata(run, stage: int) -> dict[str, str]:
    """Metadata of a Stage 2/3 policy (``run``: a ``training.stage2.Stage2`` holding it):
    the Stage 1 keys (joints, gains, action scale, rates) with the goal inputs described
    beside them."""
    from training.goals.features import COMPONENTS
    from training.goals.masks import NUM_TOKENS, PREVIEW, TASKS

    proprio = [name for name, _ in OBSERVATION_TERMS if name != "reference_future"]
    sizes = term_sizes(0)
    cfg = run.cfg
    return {
        **policy_metadata(run.env),
        "observation_names": _csv(proprio),
        "g1hoi_observation_sizes": _csv(str(sizes[n]) for n in proprio),
        "g1hoi_stage": str(stage),
        "g1hoi_inputs": "history,tokens,visible,noise,task",
        "g1hoi_history": str(cfg.goals.history),
        "g1hoi_goal_tokens": str(NUM_TOKENS),
        "g1hoi_goal_components": _csv(f"{n}:{s}" for n, s in COMPONENTS),
        "g1hoi_preview_offsets": ",".join(str(k) for k in PREVIEW),
        "g1hoi_snapshot_steps": ",".join(str(k) for k in cfg.goals.snapshot_steps),
        "g1hoi_latent_dim": str(cfg.model.latent_dim),
        "g1hoi_tasks": ",".join(TASKS[: cfg.model.tasks]),
    }


def export_latent(run_dir: Path, out: Path, steps: int = 50) -> dict:
    """Export a Stage 2 or Stage 3 run's prior + decoder (the encoder and the
    reconstruction head stay behind), recording ``steps`` control steps of inputs of
    its Stage 2 environment for the parity check (half with latent noise, a quarter with
    the get-up token on)."""
    from training.evaluate import load_latent_run
    from training.stage1 import load_clips
    from training.stage2 import Stage2

    cfg, weights, stage = load_latent_run(run_dir)
    run = Stage2(replace(cfg, num_envs=8, threads=1, steps_per_iter=steps),
                 load_clips(list(cfg.motions)))  # fmt: skip
    run.policy.load_state_dict(weights)
    batch = run.rollout()
    inputs = {
        "history": batch["history"].flatten(0, 1).numpy(),
        "tokens": batch["tokens"].flatten(0, 1).numpy(),
        "visible": batch["visible"].flatten(0, 1).float().numpy(),
        "noise": batch["noise"].flatten(0, 1).numpy(),
    }
    k = len(inputs["noise"])
    inputs["noise"][: k // 2] = 0.0  # deterministic and sampled both
    inputs["task"] = np.zeros((k, cfg.model.tasks), np.float32)
    inputs["task"][::4] = 1.0
    diff = export_onnx(LatentActor(run.policy), inputs, latent_metadata(run, stage), out)
    return {"parity_max_rel_diff": diff, "inputs": k, "stage": stage}
