"""A trivial policy that always outputs zero actions (= hold the default pose), with
complete metadata: for bring-up of the deploy chain before a trained policy exists."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from robots import g1
from robots.atomic import atomic_path
from robots.objects import ObjectSpec
from training.env import EnvConfig
from training.export import OPSET, policy_metadata
from training.observations import term_sizes


def write_hold_policy(out: Path, obj: ObjectSpec, gains: str = "stand") -> Path:
    import onnx
    from onnx import TensorProto, helper

    cfg = EnvConfig(gains=gains)
    dim = sum(term_sizes(len(cfg.future_offsets)).values())
    zeros = helper.make_tensor("w", TensorProto.FLOAT, [dim, g1.NUM_JOINTS], np.zeros(dim * 29))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "w"], ["actions"])],
        "hold_default_pose",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", dim])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, ["batch", g1.NUM_JOINTS])],
        initializer=[zeros],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    kp, _ = g1.gains(gains)
    env = SimpleNamespace(cfg=cfg, action_scale=cfg.action_scale * g1.EFFORT_LIMIT / kp, object=obj)
    for key, value in policy_metadata(env).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_path(out) as tmp:
        onnx.save(model, str(tmp))
    return Path(out)
