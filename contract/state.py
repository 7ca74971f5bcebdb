"""The simulated HOI state as (N, ...) arrays, read the same way from a batch of
simulations (training) or from one ``MjData`` (sim2sim, tests).

Frames: positions, orientations (w, x, y, z) and linear velocities in the world;
``root_ang_vel`` in the pelvis frame (what the IMU gyro measures); body and object
angular velocities in the world.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from common.array_namespace import constant, namespace, readonly
from robots import g1, quat

# Bodies whose poses are tracked and observed: the extremities and the main joints.
KEY_BODIES: tuple[str, ...] = (
    "pelvis", "left_hip_roll_link", "left_knee_link", "left_ankle_roll_link",
    "right_hip_roll_link", "right_knee_link", "right_ankle_roll_link", "torso_link",
    "left_shoulder_roll_link", "left_elbow_link", "left_wrist_yaw_link",
    "right_shoulder_roll_link", "right_elbow_link", "right_wrist_yaw_link",
)  # fmt: skip
HANDS = ("left_wrist_yaw_link", "right_wrist_yaw_link")


@dataclass
class HoiState:
    root_pos: np.ndarray  # (N, 3)
    root_quat: np.ndarray  # (N, 4)
    root_lin_vel: np.ndarray  # (N, 3) world
    root_ang_vel: np.ndarray  # (N, 3) pelvis frame
    joint_pos: np.ndarray  # (N, 29) motor order
    joint_vel: np.ndarray  # (N, 29)
    body_pos: np.ndarray  # (N, K, 3) KEY_BODIES
    body_quat: np.ndarray  # (N, K, 4)
    body_lin_vel: np.ndarray  # (N, K, 3) world
    object_pos: np.ndarray  # (N, 3)
    object_quat: np.ndarray  # (N, 4)
    object_lin_vel: np.ndarray  # (N, 3) world
    object_ang_vel: np.ndarray  # (N, 3) world


class StateIndex:
    """Addresses of the robot and object in a scene model, looked up by name."""

    def __init__(self, model: mujoco.MjModel, object_name: str):
        root = model.joint(g1.FREE_JOINT)
        self.root_q, self.root_v = int(root.qposadr[0]), int(root.dofadr[0])
        joints = [model.joint(n) for n in g1.JOINT_NAMES]
        self.joint_q = readonly([int(j.qposadr[0]) for j in joints])
        self.joint_v = readonly([int(j.dofadr[0]) for j in joints])
        obj = model.joint(f"{object_name}_joint")
        self.obj_q, self.obj_v = int(obj.qposadr[0]), int(obj.dofadr[0])
        self.bodies = readonly([model.body(n).id for n in KEY_BODIES])
        self.body_root = readonly(model.body_rootid[self.bodies])

    def read(self, qpos, qvel, xpos, xquat, cvel, subtree_com) -> HoiState:
        """Build the state from (N, ...) MjData field arrays: copies, numpy arrays or torch
        tensors as the fields are (``common.array_namespace``)."""
        xp = namespace(qpos)
        rq, rv, oq, ov = self.root_q, self.root_v, self.obj_q, self.obj_v
        b = constant(self.bodies, qpos)
        ang = cvel[:, b, :3]
        com = subtree_com[:, constant(self.body_root, qpos)]
        lin = cvel[:, b, 3:] + xp.linalg.cross(ang, xpos[:, b] - com, axis=-1)

        def copy(a):
            return xp.asarray(a, copy=True)

        return HoiState(
            root_pos=copy(qpos[:, rq : rq + 3]),
            root_quat=copy(qpos[:, rq + 3 : rq + 7]),
            root_lin_vel=copy(qvel[:, rv : rv + 3]),
            root_ang_vel=copy(qvel[:, rv + 3 : rv + 6]),
            joint_pos=qpos[:, constant(self.joint_q, qpos)],
            joint_vel=qvel[:, constant(self.joint_v, qpos)],
            body_pos=xpos[:, b],
            body_quat=xquat[:, b],
            body_lin_vel=lin,
            object_pos=copy(qpos[:, oq : oq + 3]),
            object_quat=copy(qpos[:, oq + 3 : oq + 7]),
            object_lin_vel=copy(qvel[:, ov : ov + 3]),
            # A free joint's angular velocity is in its body frame; rotate to the world.
            object_ang_vel=quat.rotate(qpos[:, oq + 3 : oq + 7], qvel[:, ov + 3 : ov + 6]),
        )

    def write(self, qpos: np.ndarray, qvel: np.ndarray, state: HoiState) -> None:
        """Write a (reference) state into (N, nq) / (N, nv) state rows."""
        rq, rv, oq, ov = self.root_q, self.root_v, self.obj_q, self.obj_v
        qpos[:, rq : rq + 3] = state.root_pos
        qpos[:, rq + 3 : rq + 7] = state.root_quat
        qpos[:, constant(self.joint_q, qpos)] = state.joint_pos
        qpos[:, oq : oq + 3] = state.object_pos
        qpos[:, oq + 3 : oq + 7] = state.object_quat
        qvel[:, rv : rv + 3] = state.root_lin_vel
        qvel[:, rv + 3 : rv + 6] = state.root_ang_vel
        qvel[:, constant(self.joint_v, qvel)] = state.joint_vel
        qvel[:, ov : ov + 3] = state.object_lin_vel
        # The free joint's angular velocity is in the object frame.
        qvel[:, ov + 3 : ov + 6] = quat.rotate(
            quat.conjugate(state.object_quat), state.object_ang_vel
        )

    def from_backend(self, backend) -> HoiState:
        f = backend.field
        return self.read(f("qpos"), f("qvel"), f("xpos"), f("xquat"), f("cvel"), f("subtree_com"))

    def from_mjdata(self, data: mujoco.MjData) -> HoiState:
        """Single simulation (call mj_forward or mj_step first); arrays have N = 1."""
        return self.read(
            data.qpos[None], data.qvel[None], data.xpos[None], data.xquat[None],
            data.cvel[None], data.subtree_com[None],
        )  # fmt: skip


def rollout_clip(states: list[HoiState], fps: float, obj, source: dict):
    """A motion clip of simulated states (row 0 of each), e.g. to render a rollout."""
    from robots.clip import MotionClip

    def stack(name: str) -> np.ndarray:
        return np.concatenate([getattr(s, name)[:1] for s in states])

    return MotionClip(
        fps=fps,
        root_pos=stack("root_pos"),
        root_quat=quat.normalize(stack("root_quat")),
        joint_pos=stack("joint_pos"),
        object_pos=stack("object_pos"),
        object_quat=quat.normalize(stack("object_quat")),
        object=obj,
        contact=np.zeros((len(states), 5)),
        source=source,
    )
