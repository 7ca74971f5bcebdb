"""Policy inference latency, one observation at a time on one thread: onnxruntime (the
deploy path) against torch eager, same network, same run.

The network is the default Stage 1 actor (MLP 1024-1024-512, ELU, observation
normalization) on the default 498-number observation, with random weights.

    python benchmarks/policy_latency.py [--calls 3000] [--hidden 1024 1024 512]
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro


@dataclass
class Args:
    calls: int = 3000
    hidden: tuple[int, ...] = (1024, 1024, 512)
    obs_dim: int = 498


def percentiles(samples: list[float]) -> tuple[float, float]:
    a = np.array(samples) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/policy_latency.py", description=__doc__)
    import onnxruntime as ort
    import torch
    from rsl_rl.models import MLPModel
    from tensordict import TensorDict

    torch.set_num_threads(1)
    obs = TensorDict({"policy": torch.zeros(1, args.obs_dim)}, batch_size=[1])
    actor = MLPModel(
        obs, {"actor": ["policy"]}, "actor", 29, hidden_dims=args.hidden, activation="elu",
        obs_normalization=True,
        distribution_cfg={"class_name": "GaussianDistribution", "init_std": 1.0},
    ).eval()  # fmt: skip
    model = actor.as_onnx(verbose=False).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.onnx"
        torch.onnx.export(model, (torch.zeros(1, args.obs_dim),), str(path), opset_version=18,
                          dynamo=False, input_names=["obs"], output_names=["actions"])  # fmt: skip
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(args.calls, 1, args.obs_dim)).astype(np.float32)
    timings = {"onnxruntime": [], "torch eager": []}
    for x in inputs[:100]:  # warm up both
        session.run(None, {"obs": x})
        with torch.inference_mode():
            model(torch.from_numpy(x))
    for x in inputs:
        start = time.perf_counter()
        session.run(None, {"obs": x})
        timings["onnxruntime"].append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.inference_mode():
            model(torch.from_numpy(x))
        timings["torch eager"].append(time.perf_counter() - start)
    print(f"MLP {args.hidden}, obs {args.obs_dim}, {args.calls} calls, 1 thread")
    for name, samples in timings.items():
        p50, p99 = percentiles(samples)
        print(f"{name:12s} p50 {p50:.3f} ms  p99 {p99:.3f} ms")


if __name__ == "__main__":
    main()
