"""One source per term for numpy and torch: the array API standard namespace of a
term's inputs, and constants placed beside them.

Numpy arrays (and lists, scalars) get numpy itself (numpy 2 implements the standard's
names), as float64; torch tensors get ``array_api_compat``'s torch namespace and keep
their device and float dtype. Nothing here imports torch: the robot node computes the
same terms with numpy alone.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np


def namespace(*arrays) -> ModuleType:
    """The namespace of ``arrays`` (numpy unless one is a torch tensor)."""
    for a in arrays:
        # numpy arrays first: the robot node calls this dozens of times per step.
        if type(a) is not np.ndarray and type(a).__module__.startswith("torch"):
            from array_api_compat import torch as xp

            return xp
    return np


def as_float(a, xp: ModuleType | None = None):
    """``a`` as a float array of its namespace (numpy: float64; torch: as it is, or the
    default float dtype for an integer or boolean tensor)."""
    xp = xp or namespace(a)
    if xp is np:
        return np.asarray(a, dtype=np.float64)
    return a if xp.isdtype(a.dtype, "real floating") else xp.astype(a, xp.float32)


def like(value, ref):
    """``value`` (a constant: numpy array, list or scalar; or a tensor) as a float array
    in ``ref``'s namespace, dtype and device."""
    xp = namespace(ref)
    if xp is np:
        return np.asarray(value, dtype=np.float64)
    from array_api_compat import device

    value = value if namespace(value) is xp else np.array(value)  # a writable copy
    return xp.asarray(value, dtype=ref.dtype, device=device(ref))


def readonly(a) -> np.ndarray:
    """``a`` as a read-only numpy array: a constant ``constant`` may keep device copies of."""
    a = np.array(a)
    a.flags.writeable = False
    return a


# (id, dtype, device) -> (the numpy constant, kept alive so its id stays its own; its copy)
_CONSTANTS: dict[tuple, tuple[np.ndarray, object]] = {}


def constant(value: np.ndarray, ref):
    """A read-only numpy constant (``readonly``) in ``ref``'s namespace and device: floats
    in ``ref``'s float dtype (``like``), integers and booleans as they are (indices).
    Uploaded once per dtype and device (an upload stops the host until a GPU has caught
    up); the copy is shared by every caller, so nobody writes to it."""
    if value.flags.writeable:
        raise ValueError("constant() takes read-only arrays (common.array_namespace.readonly)")
    xp = namespace(ref)
    floating = value.dtype.kind == "f"
    if xp is np:
        return value.astype(np.float64, copy=False) if floating else value
    from array_api_compat import device

    dtype = ref.dtype if floating else None
    key = (id(value), dtype, device(ref))
    if key not in _CONSTANTS:
        _CONSTANTS[key] = (value, xp.asarray(np.array(value), dtype=dtype, device=device(ref)))
    return _CONSTANTS[key][1]
