"""Non-penetration during IK: the robot against the object and against itself.

After a frame is solved, MuJoCo's collision detection finds penetrating pairs: robot
capsules in the object's collision shape, and robot capsules in each other (every pair
the simulation collides: all but parent-child bodies and the model's contact excludes).
Each penetrating robot body (both bodies of a robot-robot pair) gets a position target
pushed out along the contact normal by the depth plus a margin, and the IK runs again.
This is a soft, linearized version of OmniRetarget's non-penetration constraint.
"""

from __future__ import annotations

import functools

import mujoco
import numpy as np

from retarget.ik import FrameTarget
from robots import g1
from robots.objects import ObjectSpec
from robots.scene import build_scene


@functools.lru_cache(maxsize=16)
def _scene(obj: ObjectSpec) -> mujoco.MjModel:
    """The G1 + object collision model, compiled once per object and process (read only
    here: every check has its own MjData)."""
    return build_scene([obj], actuators=False, floor=False).compile()


class PenetrationCheck:
    def __init__(self, obj: ObjectSpec, tolerance: float = 0.003, margin: float = 0.01):
        self.model = _scene(obj)
        self.data = mujoco.MjData(self.model)
        self.obj_body = self.model.body(obj.name).id
        self.tolerance, self.margin = tolerance, margin

    def pushes(
        self, root_pos, root_quat, joint_pos, obj_pos, obj_quat, weight: float, self_weight: float
    ) -> dict[str, FrameTarget]:
        """Position targets for the robot bodies that penetrate the object (``weight``) or
        another robot body (``self_weight``) deeper than ``tolerance``, from each body's
        deepest contact."""
        d = self.data
        d.qpos[:3], d.qpos[3:7], d.qpos[7:36] = root_pos, root_quat, joint_pos
        d.qpos[36:39], d.qpos[39:43] = obj_pos, obj_quat
        # Contacts need only the geometry placed: kinematics, then collision detection.
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_collision(self.model, d)
        deepest: dict[int, tuple[float, np.ndarray, np.ndarray, float]] = {}
        contact = d.contact  # arrays over the ncon contacts
        for k in np.flatnonzero(-contact.dist > self.tolerance):
            depth = -contact.dist[k]
            bodies = self.model.geom_bodyid[contact.geom[k]]
            normal = contact.frame[k, :3]  # from geom[0] to geom[1]
            w = weight if self.obj_body in bodies else self_weight
            for body, out in ((bodies[0], -normal), (bodies[1], normal)):
                if body == self.obj_body:
                    continue
                # The contact point is midway between the surfaces; this body's deepest
                # point is half the depth further in.
                point = contact.pos[k] - out * depth / 2
                if depth > deepest.get(int(body), (0.0,))[0]:
                    deepest[int(body)] = (depth, out, point, w)
        out = {}
        for b, (depth, n, point, w) in deepest.items():
            rot = d.xmat[b].reshape(3, 3)
            out[g1.BODY_NAMES[b - 1]] = FrameTarget(
                point + n * (depth + self.margin), None, w, point=rot.T @ (point - d.xpos[b])
            )
        return out
