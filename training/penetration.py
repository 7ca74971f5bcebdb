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

from common.array_namespace import namespace

WORLD = 0  # body id of the world (the floor's body)
FLOOR, OBJECT, ROBOT = 0, 1, 2  # what a geom belongs to; a contact's kind: Depths' order


class Depths(NamedTuple):
    floor: np.ndarray
    object: np.ndarray
    robot: np.ndarray  # one robot geom in another


def geom_kinds(model: mujoco.MjModel, object_name: str) -> np.ndarray:
    """(ngeom,) FLOOR, OBJECT or ROBOT per geom of the scene."""
    body = model.geom_bodyid
    return np.where(body == WORLD, FLOOR,
                    np.where(body == model.body(object_name).id, OBJECT, ROBOT))  # fmt: skip


def contact_kinds(a, b):
    """Per contact between geoms of kinds ``a`` and ``b`` (arrays of one namespace): what
    it measures (OBJECT if the object is in it, else FLOOR if the floor is, else ROBOT),
    and whether it counts (the object resting on the floor does not)."""
    xp = namespace(a)
    with_object = (a == OBJECT) | (b == OBJECT)
    with_floor = (a == FLOOR) | (b == FLOOR)
    kind = xp.where(with_object, OBJECT, xp.where(with_floor, FLOOR, ROBOT))
    return kind, ~(with_object & with_floor)


class PenetrationProbe:
    """Penetration depths (m) of robot states of one scene, from MuJoCo's collision
    detection on a scratch MjData."""

    def __init__(self, model: mujoco.MjModel, object_name: str):
        self.model = model
        self.data = mujoco.MjData(model)
        self.kinds = geom_kinds(model, object_name)

    def depths(self, qpos: np.ndarray) -> Depths:
        """Depths (K,) of states ``qpos`` (K, nq): the deepest overlap of a robot geom with
        the floor, with the object and with another robot geom (0 where none)."""
        qpos = np.atleast_2d(qpos)
        out = np.zeros((3, len(qpos)))
        m, d = self.model, self.data
        for i, q in enumerate(qpos):
            d.qpos[:] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_collision(m, d)
            geom = d.contact.geom[: d.ncon]
            kind, counts = contact_kinds(self.kinds[geom[:, 0]], self.kinds[geom[:, 1]])
            np.maximum.at(out[:, i], kind[counts], -d.contact.dist[: d.ncon][counts])
        return Depths(*out)


class WarpProbe:
    """The same depths from MuJoCo Warp's collision detection, on the device of a
    ``WarpBackend`` and for tensors of states: starts are checked without leaving the
    device. One launch collides ``worlds`` states (more take several): sized for the
    starts of a control step, so that a check costs a fraction of one physics step over
    all simulations rather than a whole one."""

    def __init__(self, backend, object_name: str, nconmax: int = 96, worlds: int = 256):
        self.backend, wp, torch = backend, backend.wp, backend.torch
        model = backend.model
        # at most the backend's simulations: the model's per-simulation fields cover them
        self.worlds = min(worlds, backend.nsim)
        with wp.ScopedDevice(backend.device):
            self.d = backend.mjw.put_data(model, mujoco.MjData(model), nworld=self.worlds,
                                          nconmax=nconmax, njmax=4 * nconmax)  # fmt: skip
        self.qpos = wp.to_torch(self.d.qpos)
        self.dist = wp.to_torch(self.d.contact.dist)
        self.nacon = wp.to_torch(self.d.nacon)
        self.geom = wp.to_torch(self.d.contact.geom)
        self.world = wp.to_torch(self.d.contact.worldid)
        dev = backend.torch_device
        # what a contact between geoms g and h measures, at g * ngeom + h (-1: not counted)
        kinds = geom_kinds(model, object_name)
        kind, counts = contact_kinds(kinds[:, None], kinds[None, :])
        self.pair_kind = torch.as_tensor(np.where(counts, kind, -1).ravel(), device=dev)
        self.ngeom = model.ngeom
        self.rows = torch.arange(len(self.dist), device=dev)

    def _collide(self) -> None:
        mjw, m = self.backend.mjw, self.backend.m
        mjw.kinematics(m, self.d)
        mjw.collision(m, self.d)

    def depths(self, qpos) -> Depths:
        k, w = qpos.shape[0], self.worlds
        if k <= w:
            return self._depths(qpos)
        parts = [self._depths(qpos[i : i + w]) for i in range(0, k, w)]
        return Depths(*(self.backend.torch.cat(p) for p in zip(*parts, strict=True)))

    def _depths(self, qpos) -> Depths:
        torch, k = self.backend.torch, qpos.shape[0]
        self.qpos[:k] = qpos
        self.backend.launch(("probe", id(self)), self._collide)
        geom, world = self.geom.long(), self.world.long()
        kind = self.pair_kind[geom[:, 0] * self.ngeom + geom[:, 1]]
        valid = (self.rows < self.nacon[0]) & (world < k) & (kind >= 0)
        slot = torch.where(valid, kind * k + world, 0)
        depth = torch.where(valid, -self.dist, 0.0)
        out = torch.zeros(3 * k, dtype=self.dist.dtype, device=self.dist.device)
        out.scatter_reduce_(0, slot, depth, reduce="amax", include_self=True)
        return Depths(*out.view(3, k))
