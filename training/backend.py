"""The physics seam: what the environment needs from a batched simulator.

``MujocoBatchBackend`` runs N CPU simulations of one model on a thread pool
(``mujoco.batch.Batch``); ``WarpBackend`` runs them with MuJoCo Warp (``mujoco_warp``,
the ``[gpu]`` extra) on a CUDA device or on warp's CPU device, from the same model and
contact model. Fields are (N, ...) numpy arrays from the batch backend, torch tensors on
the device from the warp backend (numpy copies through ``HostArrays``).
"""

from __future__ import annotations

import gc
import logging
import os
from typing import Literal, Protocol

import mujoco
import numpy as np
from mujoco import batch as mjbatch

from training.randomization import RANDOMIZED

BackendName = Literal["batch", "warp"]
BACKENDS: tuple[str, ...] = ("batch", "warp")


class PhysicsBackend(Protocol):
    model: mujoco.MjModel
    nsim: int

    def field(self, name: str) -> np.ndarray:
        """Live (nsim, ...) view of an MjData field (qpos, qvel, ctrl, xpos, ...)."""
        ...

    def model_field(self, name: str) -> np.ndarray:
        """Writable (nsim, ...) per-simulation copy of an MjModel field (randomization)."""
        ...

    def step(self, nstep: int, ctrl: np.ndarray | None = None) -> None:
        """``nstep`` physics steps; positions and velocities are current afterwards.
        ``ctrl`` (nstep, nsim, nu): the controls of each substep (left in the ctrl
        field after), instead of the ctrl field's for all."""
        ...

    def reset(self, ids: np.ndarray) -> None:
        """Reset simulations ``ids`` to the model's ``default`` keyframe."""
        ...

    def forward(self, ids: np.ndarray | None = None) -> None:
        """Recompute derived quantities (kinematics, velocities) after writing state."""
        ...


def make_backend(
    name: str, model: mujoco.MjModel, nsim: int, threads: int = 0, device: str = "cpu",
    on_device: bool = False,
) -> PhysicsBackend:  # fmt: skip
    """The backend ``name`` ("batch": ``threads`` CPU threads; "warp": on ``device``, its
    fields torch tensors there with ``on_device``, else numpy arrays on the host)."""
    if name == "batch":
        if device != "cpu":
            raise ValueError(f"the batch backend runs on the CPU, not {device!r} (--backend warp)")
        return MujocoBatchBackend(model, nsim, threads)
    if name == "warp":
        backend = WarpBackend(model, nsim, device)
        return backend if on_device else HostArrays(backend)
    raise ValueError(f"unknown physics backend {name!r}; known: {BACKENDS}")


def _checked(ctrl, nstep: int, backend):
    """``ctrl`` checked to be (nstep, nsim, nu)."""
    shape = (nstep, backend.nsim, backend.model.nu)
    if tuple(ctrl.shape) != shape:
        raise ValueError(f"controls of shape {tuple(ctrl.shape)} for {nstep} substeps, "
                         f"expected {shape}")  # fmt: skip
    return ctrl


def _keyframe(model: mujoco.MjModel) -> int:
    return model.key("default").id if model.nkey else -1


class MujocoBatchBackend:
    def __init__(self, model: mujoco.MjModel, nsim: int, nthread: int = 0):
        if nsim < 1:
            raise ValueError(f"need at least one simulation, got {nsim}")
        self.model = model
        self.nsim = nsim
        self.nthread = nthread or os.cpu_count() or 1
        self.batch = mjbatch.Batch(model, nsim, nthread=self.nthread, persistent=True)
        self._keyframe = _keyframe(model)
        self._fields: dict[str, np.ndarray] = {}

    def field(self, name: str) -> np.ndarray:
        if name not in self._fields:
            self._fields[name] = self.batch.bind(name)
        return self._fields[name]

    def model_field(self, name: str) -> np.ndarray:
        return self.batch.expand(name)

    def step(self, nstep: int, ctrl: np.ndarray | None = None) -> None:
        # Velocity stage after stepping: positions, velocities and sensors are current
        # when observations are read, and a persistent batch reuses them next step (so
        # that substeps one at a time cost nothing extra).
        if ctrl is None:
            self.batch.step(nstep=nstep, stage=mujoco.mjtStage.mjSTAGE_VEL)
            return
        for substep in _checked(ctrl, nstep, self):
            self.field("ctrl")[:] = substep
            self.batch.step(nstep=1, stage=mujoco.mjtStage.mjSTAGE_VEL)

    def reset(self, ids: np.ndarray) -> None:
        self.batch.reset(ids, keyframe=self._keyframe, stage=mujoco.mjtStage.mjSTAGE_NONE)

    def forward(self, ids: np.ndarray | None = None) -> None:
        self.batch.forward(ids, stage=mujoco.mjtStage.mjSTAGE_VEL)


def import_warp():
    """``(warp, mujoco_warp)``, or an error naming the extra that installs them."""
    try:
        import warp

        # Warnings only (no banner, no line per loaded kernel module), set before
        # mujoco_warp initializes warp.
        warp.config.log_level = logging.WARNING
        import mujoco_warp
    except ImportError as e:
        raise ImportError(
            f"the warp backend needs MuJoCo Warp ({e.name} is not installed): "
            'pip install -e ".[gpu]"'
        ) from e
    return warp, mujoco_warp


class WarpBackend:
    """N simulations in MuJoCo Warp on ``device`` ("cuda", "cuda:1" or "cpu").

    Fields are torch tensors on that device sharing the simulation's memory (float32,
    MuJoCo Warp's precision): the environment reads and writes them in place, with no
    host copy (``HostArrays`` gives numpy copies to code that needs numpy). Every step,
    reset and forward is one captured graph after a first direct call. ``nconmax``
    contacts and ``njmax`` constraint rows per simulation are allocated: the G1 + box
    uses at most 36 and 108 over the lift clip's reference states; MuJoCo Warp warns
    when a step overflows them.
    """

    def __init__(
        self, model: mujoco.MjModel, nsim: int, device: str = "cpu", nconmax: int = 96,
        njmax: int = 384,
    ):  # fmt: skip
        if nsim < 1:
            raise ValueError(f"need at least one simulation, got {nsim}")
        wp, mjw = import_warp()
        import torch

        self.wp, self.mjw, self.torch = wp, mjw, torch
        self.model, self.nsim = model, nsim
        try:
            self.device = wp.get_device(device)
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"warp has no device {device!r} ({e})") from e
        self.torch_device = torch.device(wp.device_to_torch(self.device))
        if self.device.is_cuda:
            # torch computes on warp's stream: its writes come before each graph launch and
            # its reads after, in stream order, with no wait of the host in between
            stream = wp.stream_to_torch(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.torch_device))
            torch.cuda.set_stream(stream)
        data = mujoco.MjData(model)
        self._keyframe = _keyframe(model)
        if self._keyframe >= 0:
            mujoco.mj_resetDataKeyframe(model, data, self._keyframe)
        mujoco.mj_forward(model, data)
        with wp.ScopedDevice(self.device):
            self.m = mjw.put_model(model, batch_sizes=dict.fromkeys(RANDOMIZED, nsim))
            self.d = mjw.put_data(model, data, nworld=nsim, nconmax=nconmax, njmax=njmax)
            # which simulations a reset takes: the keyframe's id or -1 (left alone), or
            # a mask where the model has no keyframe
            self._reset_key = wp.zeros(nsim, dtype=int if self._keyframe >= 0 else bool)
        self._reset_which = wp.to_torch(self._reset_key)
        self._fields: dict[str, object] = {}
        self._model_fields: dict[str, object] = {}
        self._graphs: dict[object, object] = {}
        # per number of substeps: the controls of each, read inside the step's graph
        self._substep_ctrl: dict[int, tuple[object, object]] = {}

    def field(self, name: str):
        if name not in self._fields:
            if not hasattr(self.d, name):
                raise KeyError(f"MuJoCo Warp data has no field {name!r}")
            self._fields[name] = self.wp.to_torch(getattr(self.d, name))
        return self._fields[name]

    def model_field(self, name: str):
        if name not in RANDOMIZED:
            raise KeyError(
                f"{name!r} is not drawn per simulation on the warp backend; these are: {RANDOMIZED}"
            )
        if name not in self._model_fields:
            self._model_fields[name] = self.wp.to_torch(getattr(self.m, name))
        return self._model_fields[name]

    def launch(self, key: object, calls) -> None:
        """Run ``calls()`` as one captured graph (CUDA graph, or warp's CPU replay): one
        launch instead of hundreds of kernel launches from Python. The first call of each
        ``key`` runs directly, which compiles and loads the kernels a capture cannot.
        On CUDA it is queued on the stream torch computes on (see ``__init__``)."""
        with self.wp.ScopedDevice(self.device):
            graph = self._graphs.get(key)
            if graph is None:
                calls()
                # no garbage collection while capturing: a warp object freed then would
                # have its release recorded into the graph and replayed at every launch
                collecting = gc.isenabled()
                gc.disable()
                try:
                    with self.wp.ScopedCapture(force_module_load=False) as capture:
                        calls()
                finally:
                    if collecting:
                        gc.enable()
                self._graphs[key] = capture.graph
            else:
                self.wp.capture_launch(graph)

    def _physics(self, nstep: int, ctrl=None) -> None:
        for k in range(nstep):
            if ctrl is not None:
                self.wp.copy(self.d.ctrl, ctrl[k])
            self.mjw.step(self.m, self.d)
        # As the batch backend's velocity stage: bodies and their velocities at the new
        # state (mj_step leaves them one step old).
        self.mjw.kinematics(self.m, self.d)
        self.mjw.com_pos(self.m, self.d)
        self.mjw.com_vel(self.m, self.d)

    def _forward(self) -> None:
        self.mjw.fwd_position(self.m, self.d)
        self.mjw.fwd_velocity(self.m, self.d)

    def _reset(self) -> None:
        if self._keyframe >= 0:
            self.mjw.reset_data_keyframe(self.m, self.d, self._reset_key)
        else:
            self.mjw.reset_data(self.m, self.d, self._reset_key)

    def step(self, nstep: int, ctrl=None) -> None:
        if ctrl is None:
            self.launch(("step", nstep), lambda: self._physics(nstep))
            return
        # One graph for all substeps, the velocity stage once after the last (MuJoCo
        # Warp's step, unlike a persistent C batch, reuses nothing of it).
        ctrl = _checked(ctrl, nstep, self)
        if nstep not in self._substep_ctrl:
            buffer = self.torch.zeros(tuple(ctrl.shape), dtype=self.field("ctrl").dtype,
                                      device=self.torch_device)  # fmt: skip
            self._substep_ctrl[nstep] = buffer, self.wp.from_torch(buffer)
        buffer, view = self._substep_ctrl[nstep]
        buffer.copy_(self.torch.as_tensor(ctrl, device=self.torch_device))
        self.launch(("step", nstep, "ctrl"), lambda: self._physics(nstep, view))

    def reset(self, ids) -> None:
        ids = self.torch.as_tensor(ids, dtype=self.torch.long, device=self.torch_device)
        which = self._reset_which
        which.fill_(-1 if self._keyframe >= 0 else False)
        which[ids] = self._keyframe if self._keyframe >= 0 else True
        self.launch("reset", self._reset)

    def forward(self, ids=None) -> None:
        # All simulations: recomputing the derived quantities of unchanged ones is a no-op.
        self.launch("forward", self._forward)


# State the environment writes: uploaded before each physics call where fields are copies.
_INPUTS = ("qpos", "qvel", "ctrl", "act")


class HostArrays:
    """A device backend's fields as numpy arrays, for code that computes on the host:
    zero-copy views on the CPU, else host copies uploaded (the state the environment
    writes and the per-simulation model fields) before and downloaded after every step,
    reset and forward. ``copies`` makes the CPU work as a GPU does (tests of that path)."""

    def __init__(self, inner, copies: bool | None = None):
        self.inner, self.model, self.nsim = inner, inner.model, inner.nsim
        on_cpu = inner.torch_device.type == "cpu"
        self.copies = not on_cpu if copies is None else copies
        self._fields: dict[str, tuple[object, np.ndarray]] = {}
        self._model_fields: dict[str, tuple[object, np.ndarray]] = {}

    def _bind(self, tensor) -> tuple[object, np.ndarray]:
        return tensor, tensor.cpu().numpy().copy() if self.copies else tensor.numpy()

    def field(self, name: str) -> np.ndarray:
        if name not in self._fields:
            self._fields[name] = self._bind(self.inner.field(name))
        return self._fields[name][1]

    def model_field(self, name: str) -> np.ndarray:
        if name not in self._model_fields:
            self._model_fields[name] = self._bind(self.inner.model_field(name))
        return self._model_fields[name][1]

    def _call(self, run) -> None:
        if self.copies:
            names = [n for n in _INPUTS if n in self._fields]
            for tensor, host in [self._fields[n] for n in names] + list(
                self._model_fields.values()
            ):
                tensor.copy_(self.inner.torch.from_numpy(host))
        run()
        if self.copies:
            for tensor, host in self._fields.values():
                host[...] = tensor.cpu().numpy()

    def step(self, nstep: int, ctrl: np.ndarray | None = None) -> None:
        self._call(lambda: self.inner.step(nstep, ctrl))

    def reset(self, ids: np.ndarray) -> None:
        self._call(lambda: self.inner.reset(np.asarray(ids, dtype=int)))

    def forward(self, ids: np.ndarray | None = None) -> None:
        self._call(lambda: self.inner.forward(ids))
