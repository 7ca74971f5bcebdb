"""The exported expert's ONNX graph evaluated with torch against onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from training.onnx_torch import OnnxTorch

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name", ["sim2sim/policies/stage1_lift.onnx", "tests/fixtures/stage1_synthetic.onnx"]
)
def test_the_bundled_experts_give_onnxruntimes_actions(name):
    path = REPO / name
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    obs = np.random.default_rng(0).normal(size=(9, session.get_inputs()[0].shape[1]))
    obs = obs.astype(np.float32)
    want = session.run(None, {"obs": obs})[0]
    got = OnnxTorch(path)(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_an_operator_it_does_not_know_is_refused(tmp_path):
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Softmax", ["obs"], ["actions"])], "g",
        [onnx.helper.make_tensor_value_info("obs", onnx.TensorProto.FLOAT, [1, 3])],
        [onnx.helper.make_tensor_value_info("actions", onnx.TensorProto.FLOAT, [1, 3])],
    )  # fmt: skip
    path = tmp_path / "softmax.onnx"
    onnx.save(onnx.helper.make_model(graph), path)
    with pytest.raises(ValueError, match=r"operators \['Softmax'\]"):
        OnnxTorch(path)
