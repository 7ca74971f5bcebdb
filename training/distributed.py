"""torch.distributed for training on several processes, GPUs or machines (``torchrun``):
every process runs its own simulations (seeded by rank), the model starts identical
(broadcast from rank 0) and stays identical because every update uses gradients
averaged over all processes. Without ``torchrun`` (no WORLD_SIZE) it is one process."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

_device = "cpu"  # where this process's models and collective operations are


def setup(device: str = "cpu") -> tuple[int, int]:
    """(rank, world size); joins the process group ``torchrun`` describes: NCCL where the
    processes compute on GPUs (``device`` "cuda": each its own, ``physics_device``; the
    models live beside the environment there), gloo on CPUs."""
    global _device
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        if device.startswith("cuda"):
            _device = physics_device(device)
            torch.cuda.set_device(torch.device(_device))
            dist.init_process_group("nccl")
        else:
            dist.init_process_group("gloo")
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def physics_device(device: str) -> str:
    """The device this process simulates on: under ``torchrun`` a plain "cuda" becomes
    this process's own GPU (``cuda:LOCAL_RANK``); anything else stays as given."""
    local = os.environ.get("LOCAL_RANK")
    return f"cuda:{local}" if device == "cuda" and local is not None else device


def active() -> bool:
    return dist.is_initialized() and dist.get_world_size() > 1


def broadcast_parameters(params: list[torch.Tensor]) -> None:
    """Rank 0's values everywhere (parameters and buffers, in place)."""
    if active():
        for p in params:
            dist.broadcast(p.data, src=0)


def average_gradients(params: list[torch.Tensor]) -> None:
    """Replace each gradient by its mean over the processes (one all-reduce). Every
    process runs the same code, so the same parameters have gradients everywhere."""
    if not active():
        return
    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_scalar(value: float) -> float:
    """The mean of a number over the processes (logging)."""
    if not active():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=_device)
    dist.all_reduce(t)
    return float(t) / dist.get_world_size()
