"""Constants in the namespace and on the device of the arrays they meet."""

from __future__ import annotations

import numpy as np
import pytest

from common.array_namespace import constant, readonly


def test_constants_must_be_read_only():
    with pytest.raises(ValueError, match="read-only"):
        constant(np.array([1.0, 2.0]), np.zeros(2))


def test_numpy_gets_the_constant_itself_as_float64_or_integers():
    floats, ints = readonly([1.0, 2.0]), readonly([3, 4])
    assert constant(floats, np.zeros(2)) is floats
    assert constant(ints, np.zeros(2)) is ints
    assert constant(readonly(np.float32([1.0])), np.zeros(1)).dtype == np.float64


def test_torch_gets_one_copy_per_dtype_and_device():
    torch = pytest.importorskip("torch")
    value, ints = readonly([1.0, 2.0]), readonly([0, 1])
    ref = torch.zeros(2)
    first = constant(value, ref)
    assert first.dtype == torch.float32 and first is constant(value, torch.ones(3))
    assert constant(value, ref.double()).dtype == torch.float64
    assert constant(ints, ref).dtype == torch.int64
    assert not np.shares_memory(constant(ints, ref).numpy(), ints)  # a copy of its own
