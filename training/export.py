"""ONNX export of a trained policy: the whole deployed computation (observation
normalization, MLP, deterministic action) in one graph, with the metadata sim2sim and
the robot node need. Keys follow mjlab where they exist (``joint_names``,
``joint_stiffness``, ``joint_damping``, ``default_joint_pos``, ``action_scale``,
``observation_names``), so existing G1 tooling can read our policies; ours go beside.
Lists are comma-separated; the object is JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from robots import g1
from robots.atomic import atomic_path
from training.observations import OBSERVATION_TERMS, contract_hash, term_sizes

OPSET = 18
FORMAT = "g1hoi.policy/1"
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
        "g1hoi_gain_profile": env.cfg.gains,
        "g1hoi_effort_limit": _csv(g1.EFFORT_LIMIT),
        "g1hoi_object": env.object.to_json(),
    }


def export_policy(actor, env, out: Path, recorded_obs: np.ndarray) -> dict:
    """Write ``out`` (ONNX + metadata) and check torch vs onnxruntime on ``recorded_obs``."""
    import onnx
    import onnxruntime as ort

    model = actor.as_onnx(verbose=False).eval()  # normalize -> MLP -> mean action
    dim = recorded_obs.shape[1]
    with atomic_path(out) as tmp:
        torch.onnx.export(
            model, (torch.zeros(1, dim),), str(tmp), opset_version=OPSET, dynamo=False,
            input_names=["obs"], output_names=["actions"],
            dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}},
        )  # fmt: skip
        proto = onnx.load(str(tmp))
        for key, value in policy_metadata(env).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(tmp))
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        with torch.inference_mode():
            expected = model(torch.from_numpy(recorded_obs)).numpy()
        got = session.run(None, {"obs": recorded_obs})[0]
        diff = float(np.abs(expected - got).max())
        if not diff <= PARITY_TOL:
            raise RuntimeError(f"ONNX parity check failed: max |torch - onnxruntime| = {diff:.3g}")
    return {"parity_max_abs_diff": diff, "observations": len(recorded_obs), "obs_dim": dim}


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
