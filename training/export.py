"""ONNX export of a trained policy: the whole deployed computation (observation
normalization, MLP, deterministic action) in one graph, with the metadata of the policy
file format (``contract.policy_file``) that sim2sim and the robot node read.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from common.atomic import atomic_path
from contract import policy_file
from contract.goals.masks import TASKS
from contract.policy_file import OPSET, GoalLayout
from training import runs
from training.configs import Placement
from training.evaluate import expert_environment
from training.stage1 import trained_policy
from training.stage2 import Stage2

# Largest torch-vs-onnxruntime difference, relative to max(1, |action|): float32 rounding
# grows with the magnitude of the action (a student's wrist targets reach 15 units).
PARITY_TOL = 1e-5


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
    batch = torch.export.Dim("batch")
    with atomic_path(out) as tmp, warnings.catch_warnings():
        # torch's own exporter internals warn about their pytree use; nothing to act on here.
        warnings.filterwarnings("ignore", category=FutureWarning, module="copyreg")
        # Every input shares the one batch axis on purpose; torch notes it keeps one name.
        warnings.filterwarnings("ignore", message="# The axis name: batch will not be used")
        # The dynamo-based exporter (the TorchScript one is deprecated). Traced at batch 2:
        # torch.export specializes a size-1 dimension instead of keeping it dynamic. One
        # file: by default it puts large weights beside it in a ".data" file, which
        # outlives the temporary name.
        torch.onnx.export(
            model, tuple(t[:2] for t in tensors), str(tmp), opset_version=OPSET, dynamo=True,
            external_data=False, input_names=names, output_names=["actions"],
            dynamic_shapes=tuple({0: batch} for _ in tensors), verbose=False,
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


def export_run(run_dir: Path, out: Path, steps: int = 100,
               checkpoints: tuple[int | str, ...] = ()) -> dict:  # fmt: skip
    """Export a Stage 1 run's policy (``checkpoints``: kept iterations or checkpoint
    files, ``runs.load_kept``, their weights averaged, instead of the latest), recording
    ``steps`` control steps of observations from the run's own environment (no
    randomization) for the parity check."""
    env, _ = expert_environment(run_dir, 8)
    vec, policy = trained_policy(run_dir, env, _state(run_dir, checkpoints))
    obs = vec.get_observations()
    recorded = []
    for _ in range(steps):
        recorded.append(obs["policy"].numpy().copy())
        with torch.inference_mode():
            action = policy(obs)
        obs, *_ = vec.step(action)
    interface = replace(env.interface(), clips=runs.clip_records(run_dir))
    model = policy.as_onnx(verbose=False)  # normalize -> MLP -> mean action
    recorded = np.concatenate(recorded)
    meta = policy_file.write(interface)
    diff = export_onnx(model, {"obs": recorded}, meta, out)
    report = {"parity_max_rel_diff": diff, "observations": len(recorded),
              "obs_dim": recorded.shape[1],
              "metadata": {k: v for k, v in meta.items() if k.startswith("g1hoi_")}}  # fmt: skip
    return json.loads(json.dumps(report))


def _state(run_dir: Path, checkpoints: tuple[int | str, ...]) -> dict:
    """The weights to export: the latest checkpoint's, or the kept ones' (averaged)."""
    return runs.load_kept(run_dir, checkpoints) if checkpoints else runs.load_checkpoint(run_dir)


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


def latent_metadata(run, stage: int, clips=()) -> dict[str, str]:
    """Metadata of a Stage 2/3 policy (``run``: a ``training.stage2.Stage2`` holding it)."""
    cfg = run.cfg
    goals = GoalLayout(history=cfg.goals.history, snapshot_steps=cfg.goals.snapshot_steps,
                       latent_dim=cfg.model.latent_dim, tasks=TASKS[: cfg.model.tasks])  # fmt: skip
    interface = replace(run.env.interface(), goals=goals, stage=stage, clips=tuple(clips))
    return policy_file.write(interface)


def export_latent(run_dir: Path, out: Path, steps: int = 50,
                  checkpoints: tuple[int | str, ...] = ()) -> dict:  # fmt: skip
    """Export a Stage 2 or Stage 3 run's prior + decoder (the encoder and the
    reconstruction head stay behind; ``checkpoints``: kept iterations or checkpoint
    files, their weights averaged, instead of the latest), recording ``steps`` control
    steps of inputs of its Stage 2 environment for the parity check (half with latent
    noise, a quarter with the get-up token on)."""
    cfg, stage = runs.latent_config(run_dir)
    run = Stage2(replace(cfg, placement=Placement(num_envs=8, threads=1), steps_per_iter=steps),
                 runs.load_clips(cfg.motions))  # fmt: skip
    run.policy.load_state_dict(_state(run_dir, checkpoints)["policy"])
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
    meta = latent_metadata(run, stage, runs.clip_records(run_dir))
    diff = export_onnx(LatentActor(run.policy), inputs, meta, out)
    return {"parity_max_rel_diff": diff, "inputs": k, "stage": stage}
