"""How deep a robot state sinks into the floor, into the object and into itself: the
check that keeps perturbed and shifted starts physical.

Joint noise on a robot standing at a dataset frame pushes feet into the floor and hands
into a held box (0.1 rad per joint: 4 cm into the box on average, in two starts of
three deeper than 2 cm). MuJoCo's soft contacts resolve such overlaps in one step with
large forces: the box is thrown off the hands and the robot bounces, so the start
measures the solver, not the controller.
"""

from __future__ import annotations

from typing import NamedTuple

import mujoco
import numpy as np

WORLD = 0  # body id of the world (the floor's body)


class Depths(NamedTuple):
    floor: np.ndarray
    object: np.ndarray
    robot: np.ndarray  # one robot geom in another


class PenetrationProbe:
    """Penetration depths (m) of robot states of one scene, from MuJoCo's collision
    detection on a scratch MjData."""

    def __init__(self, model: mujoco.MjModel, object_name: str):
        self.model = model
        self.data = mujoco.MjData(model)
        self.object = model.body(object_name).id

    def depths(self, qpos: np.ndarray) -> Depths:
        """Depths (K,) of states ``qpos`` (K, nq): the deepest overlap of a robot geom with
        the floor, with the object and with another robot geom (0 where none)."""
        qpos = np.atleast_2d(qpos)
        out = Depths(*(np.zeros(len(qpos)) for _ in range(3)))
        m, d = self.model, self.data
        for i, q in enumerate(qpos):
            d.qpos[:] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_collision(m, d)
            for c in d.contact[: d.ncon]:
                bodies = (m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2])
                kind = (out.object if self.object in bodies else out.floor if WORLD in bodies
                        else out.robot)  # fmt: skip
                if not (self.object in bodies and WORLD in bodies):
                    kind[i] = max(kind[i], -c.dist)
        return out


class WarpProbe:
    """The same depths from MuJoCo Warp's collision detection, on the device of a
    ``WarpBackend`` and for tensors of states (at most the backend's simulation count
    per call): starts are checked without leaving the device."""

    def __init__(self, backend, object_name: str, nconmax: int = 96):
        self.backend, wp, torch = backend, backend.wp, backend.torch
        model = backend.model
        with wp.ScopedDevice(backend.device):
            self.d = backend.mjw.put_data(model, mujoco.MjData(model), nworld=backend.nsim,
                                          nconmax=nconmax, njmax=4 * nconmax)  # fmt: skip
        self.qpos = wp.to_torch(self.d.qpos)
        self.dist = wp.to_torch(self.d.contact.dist)
        self.nacon = wp.to_torch(self.d.nacon)
        dev = backend.torch_device
        body = torch.as_tensor(model.geom_bodyid, device=dev)
        # per geom: 0 the floor (world), 1 the object, 2 the robot
        self.kind = torch.full((model.ngeom,), 2, device=dev)
        self.kind[body == WORLD] = 0
        self.kind[body == model.body(object_name).id] = 1
        self.rows = torch.arange(len(self.dist), device=dev)

    def _collide(self) -> None:
        mjw, m = self.backend.mjw, self.backend.m
        mjw.kinematics(m, self.d)
        mjw.collision(m, self.d)

    def depths(self, qpos) -> Depths:
        torch, k = self.backend.torch, qpos.shape[0]
        if k > self.backend.nsim:
            raise ValueError(f"{k} states, more than the {self.backend.nsim} simulations")
        self.qpos[:k] = qpos
        self.backend._launch(("probe", id(self)), self._collide)
        geom = self.backend.wp.to_torch(self.d.contact.geom).long()
        world = self.backend.wp.to_torch(self.d.contact.worldid).long()
        a, b = self.kind[geom[:, 0]], self.kind[geom[:, 1]]
        with_object, with_floor = (a == 1) | (b == 1), (a == 0) | (b == 0)
        valid = (self.rows < self.nacon[0]) & (world < k) & ~(with_object & with_floor)
        kind = torch.where(with_object, 1, torch.where(with_floor, 0, 2))
        slot = torch.where(valid, kind * k + world, 0)
        depth = torch.where(valid, -self.dist, 0.0)
        out = torch.zeros(3 * k, dtype=self.dist.dtype, device=self.dist.device)
        out.scatter_reduce_(0, slot, depth, reduce="amax", include_self=True)
        out = out.view(3, k)
        return Depths(floor=out[0], object=out[1], robot=out[2])
