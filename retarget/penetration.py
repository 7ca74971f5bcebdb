"""Non-penetration between the robot and the object during IK.

After a frame is solved, MuJoCo's collision detection (robot capsules vs the object's
collision shape) finds penetrating robot bodies; each gets a position target pushed out
along the contact normal by its depth plus a margin, and the IK runs again. This is a
soft, linearized version of OmniRetarget's non-penetration constraint.
"""

from __future__ import annotations

import mujoco
import numpy as np

from retarget.ik import FrameTarget
from robots import g1
from robots.objects import ObjectSpec
from robots.scene import build_scene


class PenetrationCheck:
    def __init__(self, obj: ObjectSpec, tolerance: float = 0.003, margin: float = 0.01):
        self.model = build_scene([obj], actuators=False, floor=False).compile()
        self.data = mujoco.MjData(self.model)
        self.obj_body = self.model.body(obj.name).id
        self.tolerance, self.margin = tolerance, margin
        self.nrobot = len(g1.BODY_NAMES)

    def pushes(
        self, root_pos, root_quat, joint_pos, obj_pos, obj_quat, weight: float
    ) -> dict[str, FrameTarget]:
        """Position targets for the robot bodies that penetrate the object deeper than
        ``tolerance``: the body moved out along the contact normal by depth + margin."""
        d = self.data
        d.qpos[:3], d.qpos[3:7], d.qpos[7:36] = root_pos, root_quat, joint_pos
        d.qpos[36:39], d.qpos[39:43] = obj_pos, obj_quat
        mujoco.mj_fwdPosition(self.model, d)
        deepest: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}
        for c in d.contact[: d.ncon]:
            depth = -c.dist
            if depth <= self.tolerance:
                continue
            b1, b2 = self.model.geom_bodyid[c.geom[0]], self.model.geom_bodyid[c.geom[1]]
            # The contact normal points from geom[0] to geom[1].
            if b2 == self.obj_body and 1 <= b1 <= self.nrobot:
                body, normal = b1, -c.frame[:3]
            elif b1 == self.obj_body and 1 <= b2 <= self.nrobot:
                body, normal = b2, c.frame[:3].copy()
            else:
                continue
            if depth > deepest.get(body, (0.0,))[0]:
                # c.pos is midway between the surfaces; the robot's deepest point is
                # half the depth further into the object.
                deepest[body] = (depth, normal, c.pos - normal * depth / 2)
        out = {}
        for b, (depth, n, point) in deepest.items():
            rot = d.xmat[b].reshape(3, 3)
            out[g1.BODY_NAMES[b - 1]] = FrameTarget(
                point + n * (depth + self.margin), None, weight, point=rot.T @ (point - d.xpos[b])
            )
        return out
