"""Counting what device code asks of the host: on a GPU each torch operation is a launch
from Python, and each host sync or upload stops the host until the GPU has caught up.
The counts are the same on every device, so CPU runs (tests, ``benchmarks/env_dispatch.py``)
measure what decides the environment's speed on a GPU."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parents[1]
_SYNCS = {"aten._local_scalar_dense.default", "aten.nonzero.default", "aten.is_nonzero.default"}
_INDEXING = {"aten.index.Tensor", "aten.index_put_.default", "aten.index_put.default"}


def _mask_index(name: str, args) -> bool:
    """Indexing with a boolean mask: its result's size is read back from the device."""
    indices = args[1] if name in _INDEXING and len(args) > 1 else None
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices or ())


def _call_site() -> str:
    """This repository's innermost function on the stack (outside this module)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(str(ROOT)) and name != __file__:
            return f"{Path(name).relative_to(ROOT)}:{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


class OpCount(TorchDispatchMode):
    """Inside ``with OpCount() as count:``, counts every ATen operation and among
    them:

    - ``views``: operations that launch no kernel (slices, reshapes, expands);
    - ``syncs``: reads of device values by the host (``nonzero``, ``item``-like reads,
      ``is_nonzero``, indexing with a boolean mask);
    - ``uploads``: tensors made from host arrays (``lift_fresh`` of an array; a Python
      number written or compared is passed to the kernel, not uploaded);

    and, with ``sites``, the operations per call site of this repository."""

    def __init__(self, sites: bool = False):
        super().__init__()
        self.ops = self.views = self.syncs = self.uploads = 0
        self.sites: collections.Counter[str] | None = collections.Counter() if sites else None

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func)
        self.ops += 1
        self.views += func.is_view
        self.syncs += name in _SYNCS or _mask_index(name, args)
        self.uploads += name == "aten.lift_fresh.default" and args[0].dim() > 0
        if self.sites is not None:
            self.sites[_call_site()] += 1
        return func(*args, **(kwargs or {}))
