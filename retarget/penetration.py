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
        # Only robot-object pairs: robot geoms collide with the object, not each other.
        is_obj = self.model.geom_bodyid == self.obj_body
        self.model.geom_contype[:] = np.where(is_obj, 0, 2)
        self.model.geom_conaffinity[:] = np.where(is_obj, 2, 0)
        self.tolerance, self.margin = tolerance, margin

    def pushes(
        self, root_pos, root_quat, joint_pos, obj_pos, obj_quat, weight: float
    ) -> dict[str, FrameTarget]:
        """Position targets for the robot bodies that penetrate the object deeper than
        ``tolerance``: the body moved out along the contact normal by depth + margin."""
        d = self.data
        d.qpos[:3], d.qpos[3:7], d.qpos[7:36] = root_pos, root_quat, joint_pos
        d.qpos[36:39], d.qpos[39:43] = obj_pos, obj_quat
        mujoco.mj_fwdPosition(self.model, d)
        n = d.ncon
        if n == 0:
            return {}
        depth = -d.contact.dist[:n]
        keep = depth > self.tolerance
        if not keep.any():
            return {}
        bodies = self.model.geom_bodyid[d.contact.geom[:n][keep]]  # (k, 2)
        # The contact normal points from geom[0] to geom[1]; flip it to point at the robot.
        robot_first = bodies[:, 1] == self.obj_body
        normals = d.contact.frame[:n][keep][:, :3] * np.where(robot_first, -1.0, 1.0)[:, None]
        robot = np.where(robot_first, bodies[:, 0], bodies[:, 1])
        depth = depth[keep]
        # c.pos is midway between the surfaces; the robot's deepest point is half the
        # depth further into the object.
        points = d.contact.pos[:n][keep] - normals * depth[:, None] / 2
        deepest: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}
        for b, dep, nrm, pt in zip(robot, depth, normals, points, strict=True):
            if dep > deepest.get(int(b), (0.0,))[0]:
                deepest[int(b)] = (dep, nrm, pt)
        out = {}
        for b, (depth, n, point) in deepest.items():
            rot = d.xmat[b].reshape(3, 3)
            out[g1.BODY_NAMES[b - 1]] = FrameTarget(
                point + n * (depth + self.margin), None, weight, point=rot.T @ (point - d.xpos[b])
            )
        return out
