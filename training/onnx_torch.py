"""An exported Stage 1 policy's ONNX graph evaluated with torch, on any device: the
expert of a distillation whose environment runs on the GPU (onnxruntime would take the
observations back to the host every step). Exports here are an MLP with input
normalization; the operators below cover them and a graph with any other is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def _gemm(x, w, b=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    out = alpha * ((x.T if transA else x) @ (w.T if transB else w))
    return out if b is None else out + beta * b


OPERATORS = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b,
    "MatMul": lambda a, b: a @ b,
    "Gemm": _gemm,
    "Elu": lambda x, alpha=1.0: F.elu(x, alpha),
    "Relu": F.relu,
    "Tanh": torch.tanh,
    "Identity": lambda x: x,
}


class OnnxTorch(torch.nn.Module):
    """``model(obs)``: the graph's single output for its single input, in float32."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        super().__init__()
        graph = onnx.load(str(path)).graph
        unknown = sorted({n.op_type for n in graph.node} - set(OPERATORS))
        if unknown:
            raise ValueError(f"{path}: operators {unknown} are not evaluated in torch; "
                             f"known: {sorted(OPERATORS)}")  # fmt: skip
        if len(graph.input) != 1 or len(graph.output) != 1:
            raise ValueError(f"{path}: expected one input and one output (a Stage 1 policy)")
        self.input, self.output = graph.input[0].name, graph.output[0].name
        self.constants = {
            t.name: torch.as_tensor(np.array(numpy_helper.to_array(t)), device=device)
            for t in graph.initializer
        }
        self.nodes = [
            (n.op_type, list(n.input), n.output[0],
             {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute})
            for n in graph.node
        ]  # fmt: skip

    @torch.inference_mode()
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        values = {**self.constants, self.input: obs.float()}
        for op, inputs, output, attrs in self.nodes:
            values[output] = OPERATORS[op](*(values[i] for i in inputs if i), **attrs)
        return values[self.output]
