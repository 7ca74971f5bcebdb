"""A trivial policy that always outputs zero actions (= hold the default pose), with
complete metadata: for bring-up of the deploy chain before a trained policy exists.

With ``hidden`` it is a full-size MLP (random hidden layers, zero output layer): the
same zero actions at a real policy's inference cost, for timing the deploy loop."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from common.atomic import atomic_path
from contract import policy_file
from contract.actions import ACTION_CLIP, ACTION_SCALE, CONTROL_HZ, joint_scale
from contract.observations import FUTURE_OFFSETS, term_sizes
from contract.policy_file import OPSET, PolicyInterface
from robots import g1
from robots.objects import ObjectSpec


def write_hold_policy(
    out: Path, obj: ObjectSpec, gains: str = "stand", hidden: tuple[int, ...] = ()
) -> Path:
    import onnx
    from onnx import TensorProto, helper

    dim = sum(term_sizes(len(FUTURE_OFFSETS)).values())
    rng = np.random.default_rng(0)
    sizes = [dim, *hidden, g1.NUM_JOINTS]
    nodes, weights, x = [], [], "obs"
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        last = i == len(sizes) - 2
        w = np.zeros((n_in, n_out)) if last else rng.normal(0, n_in**-0.5, (n_in, n_out))
        weights += [
            helper.make_tensor(f"w{i}", TensorProto.FLOAT, [n_in, n_out], w.ravel()),
            helper.make_tensor(f"b{i}", TensorProto.FLOAT, [n_out], np.zeros(n_out)),
        ]
        y = "actions" if last else f"h{i}"
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y if last else f"z{i}"]))
        if not last:
            nodes.append(helper.make_node("Elu", [f"z{i}"], [y]))
        x = y
    graph = helper.make_graph(
        nodes,
        "hold_default_pose",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", dim])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, ["batch", g1.NUM_JOINTS])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    kp, kd = g1.gains(gains)
    interface = PolicyInterface(
        kp=kp, kd=kd, action_scale=joint_scale(ACTION_SCALE, kp), control_hz=CONTROL_HZ,
        action_clip=ACTION_CLIP, future_offsets=FUTURE_OFFSETS, object=obj, gain_profile=gains,
    )  # fmt: skip
    for key, value in policy_file.write(interface).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_path(out) as tmp:
        onnx.save(model, str(tmp))
    return Path(out)
