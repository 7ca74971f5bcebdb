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
