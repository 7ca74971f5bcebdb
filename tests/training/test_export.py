import numpy as np
import onnx
import torch

from training.export import export_onnx


def test_a_large_policy_is_one_file_and_nothing_else_is_left(tmp_path):
    # 4 MB of weights: torch's exporter would put them in a ".data" file beside it
    model = torch.nn.Sequential(torch.nn.Linear(8, 1024), torch.nn.Linear(1024, 1024))
    obs = np.random.default_rng(0).random((4, 8), dtype=np.float32)
    out = tmp_path / "policy.onnx"
    assert export_onnx(model, {"obs": obs}, {"g1hoi_test": "1"}, out) < 1e-5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.onnx"]
    proto = onnx.load(str(out), load_external_data=False)
    assert not any(onnx.external_data_helper.uses_external_data(t) for t in proto.graph.initializer)
    assert {p.key: p.value for p in proto.metadata_props}["g1hoi_test"] == "1"
