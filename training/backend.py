"""The physics seam: what the environment needs from a batched simulator.

``MujocoBatchBackend`` runs N CPU simulations of one model on a thread pool
(``mujoco.batch.Batch``); ``WarpBackend`` runs them with MuJoCo Warp (``mujoco_warp``,
the ``[gpu]`` extra) on a CUDA device or on warp's CPU device, from the same model and
contact model. The environment sees (N, ...) numpy arrays from both.
"""

from __future__ import annotations

import logging
import os
from typing import Literal, Protocol

import mujoco
import numpy as np
from mujoco import batch as mjbatch

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

    def step(self, nstep: int) -> None:
        """``nstep`` physics steps; positions and velocities are current afterwards."""
        ...

    def reset(self, ids: np.ndarray) -> None:
        """Reset simulations ``ids`` to the model's ``default`` keyframe."""
        ...

    def forward(self, ids: np.ndarray | None = None) -> None:
        """Recompute derived quantities (kinematics, velocities) after writing state."""
        ...


def make_backend(
    name: str, model: mujoco.MjModel, nsim: int, threads: int = 0, device: str = "cpu"
) -> PhysicsBackend:
    """The backend ``name`` ("batch": ``threads`` CPU threads; "warp": on ``device``)."""
    if name == "batch":
        if device != "cpu":
            raise ValueError(f"the batch backend runs on the CPU, not {device!r} (--backend warp)")
        return MujocoBatchBackend(model, nsim, threads)
    if name == "warp":
        return WarpBackend(model, nsim, device)
    raise ValueError(f"unknown physics backend {name!r}; known: {BACKENDS}")


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

    def step(self, nstep: int) -> None:
        # Velocity stage after stepping: positions, velocities and sensors are current
        # when observations are read, and a persistent batch reuses them next step.
        self.batch.step(nstep=nstep, stage=mujoco.mjtStage.mjSTAGE_VEL)

    def reset(self, ids: np.ndarray) -> None:
        self.batch.reset(ids, keyframe=self._keyframe, stage=mujoco.mjtStage.mjSTAGE_NONE)

    def forward(self, ids: np.ndarray | None = None) -> None:
        self.batch.forward(ids, stage=mujoco.mjtStage.mjSTAGE_VEL)


# MjModel fields the randomization draws per simulation (training.randomization); the
# warp model holds one copy per simulation of these only.
RANDOMIZABLE: tuple[str, ...] = (
    "body_mass", "body_inertia", "body_ipos", "geom_friction", "geom_solref",
    "actuator_gainprm", "actuator_biasprm",
)  # fmt: skip
# State the environment writes; uploaded before each device call where fields are copies.
_INPUTS = ("qpos", "qvel", "ctrl", "act")


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

    Fields are float32 (MuJoCo Warp's precision). On warp's CPU device they are views
    of the simulation's own memory; on a CUDA device they are host copies, uploaded
    (state the environment writes, the per-simulation model fields) before and
    downloaded after every step, reset and forward. ``nconmax`` contacts and ``njmax``
    constraint rows per simulation are allocated: the G1 + box uses at most 36 and 108
    over the lift clip's reference states; MuJoCo Warp warns when a step overflows them.
    ``host_copies`` makes the CPU device work as a CUDA one does (tests of that path).
    """

    def __init__(
        self, model: mujoco.MjModel, nsim: int, device: str = "cpu", nconmax: int = 96,
        njmax: int = 384, host_copies: bool = False,
    ):  # fmt: skip
        if nsim < 1:
            raise ValueError(f"need at least one simulation, got {nsim}")
        wp, mjw = import_warp()
        self.wp, self.mjw = wp, mjw
        self.model, self.nsim = model, nsim
        try:
            self.device = wp.get_device(device)
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"warp has no device {device!r} ({e})") from e
        data = mujoco.MjData(model)
        self._keyframe = _keyframe(model)
        if self._keyframe >= 0:
            mujoco.mj_resetDataKeyframe(model, data, self._keyframe)
        mujoco.mj_forward(model, data)
        with wp.ScopedDevice(self.device):
            self.m = mjw.put_model(model, batch_sizes=dict.fromkeys(RANDOMIZABLE, nsim))
            self.d = mjw.put_data(model, data, nworld=nsim, nconmax=nconmax, njmax=njmax)
        # numpy views of the simulation's memory, else host copies synced at every call
        self.views = self.device.is_cpu and not host_copies
        self._fields: dict[str, tuple[object, np.ndarray]] = {}
        self._model_fields: dict[str, tuple[object, np.ndarray]] = {}

    def _bind(self, array) -> tuple[object, np.ndarray]:
        return array, array.numpy() if self.views else array.numpy().copy()

    def field(self, name: str) -> np.ndarray:
        if name not in self._fields:
            if not hasattr(self.d, name):
                raise KeyError(f"MuJoCo Warp data has no field {name!r}")
            self._fields[name] = self._bind(getattr(self.d, name))
        return self._fields[name][1]

    def model_field(self, name: str) -> np.ndarray:
        if name not in RANDOMIZABLE:
            raise KeyError(
                f"{name!r} is not drawn per simulation on the warp backend; these are: "
                f"{RANDOMIZABLE}"
            )
        if name not in self._model_fields:
            self._model_fields[name] = self._bind(getattr(self.m, name))
        return self._model_fields[name][1]

    def _upload(self) -> None:
        if self.views:
            return
        names = [n for n in _INPUTS if n in self._fields]
        for array, host in [self._fields[n] for n in names] + list(self._model_fields.values()):
            array.assign(host)

    def _download(self) -> None:
        if self.views:
            return
        for array, host in self._fields.values():
            host[...] = array.numpy()

    def step(self, nstep: int) -> None:
        self._upload()
        with self.wp.ScopedDevice(self.device):
            for _ in range(nstep):
                self.mjw.step(self.m, self.d)
            # As the batch backend's velocity stage: bodies and their velocities at the
            # new state (mj_step leaves them one step old).
            self.mjw.kinematics(self.m, self.d)
            self.mjw.com_pos(self.m, self.d)
            self.mjw.com_vel(self.m, self.d)
        self._download()

    def reset(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=int)
        self._upload()
        with self.wp.ScopedDevice(self.device):
            if self._keyframe >= 0:
                key = np.full(self.nsim, -1, np.int32)  # -1: this simulation is not reset
                key[ids] = self._keyframe
                self.mjw.reset_data_keyframe(self.m, self.d, self.wp.array(key, dtype=int))
            else:
                mask = np.zeros(self.nsim, bool)
                mask[ids] = True
                self.mjw.reset_data(self.m, self.d, self.wp.array(mask, dtype=bool))
        self._download()

    def forward(self, ids: np.ndarray | None = None) -> None:
        # All simulations: recomputing the derived quantities of unchanged ones is a no-op.
        self._upload()
        with self.wp.ScopedDevice(self.device):
            self.mjw.fwd_position(self.m, self.d)
            self.mjw.fwd_velocity(self.m, self.d)
        self._download()
