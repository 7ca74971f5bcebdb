"""Turn a LowState (and the tracker's poses) into the observation contract's robot state.

Measured: joint angles and speeds, pelvis orientation and angular velocity (IMU); the
object's pose and velocity, and the pelvis position and linear velocity, where a
tracker gives them (``deploy.tracker``). What no source gives is taken from the
reference motion (open loop). Key-body positions come from forward kinematics of the
measured joints placed at the pelvis position. numpy + mujoco only.
"""

from __future__ import annotations

import numpy as np

from contract.state import KEY_BODIES, HoiState
from robots import g1, quat
from robots.clip import forward_kinematics

_KEYS = np.array([g1.BODY_NAMES.index(n) for n in KEY_BODIES])


def estimate_state(
    joint_pos: np.ndarray,
    joint_vel: np.ndarray,
    imu_quat: np.ndarray,
    gyro: np.ndarray,
    ref: HoiState,
    tracked_object: tuple | None = None,
    tracked_pelvis: tuple | None = None,
) -> HoiState:
    """(N = 1) state from sensor values (motor order, IMU wxyz), the tracked object and
    pelvis (``TrackedBody.pose``: position, quaternion, linear and angular velocity; the
    pelvis orientation stays the IMU's) where given, and the reference frame."""
    root_quat = quat.normalize(np.asarray(imu_quat, dtype=np.float64)[None])
    root_pos, root_lin_vel = ref.root_pos.copy(), ref.root_lin_vel.copy()
    if tracked_pelvis is not None:
        root_pos, root_lin_vel = tracked_pelvis[0][None], tracked_pelvis[2][None]
    obj = (ref.object_pos, ref.object_quat, ref.object_lin_vel, ref.object_ang_vel)
    if tracked_object is not None:
        obj = tuple(np.asarray(x, dtype=np.float64)[None] for x in tracked_object)
    body_pos, body_quat = forward_kinematics(root_pos, root_quat, joint_pos[None])
    return HoiState(
        root_pos=root_pos,
        root_quat=root_quat,
        root_lin_vel=root_lin_vel,
        root_ang_vel=np.asarray(gyro, dtype=np.float64)[None],
        joint_pos=np.asarray(joint_pos, dtype=np.float64)[None],
        joint_vel=np.asarray(joint_vel, dtype=np.float64)[None],
        body_pos=body_pos[:, _KEYS],
        body_quat=body_quat[:, _KEYS],
        body_lin_vel=ref.body_lin_vel.copy(),
        object_pos=obj[0].copy(),
        object_quat=obj[1].copy(),
        object_lin_vel=obj[2].copy(),
        object_ang_vel=obj[3].copy(),
    )
