"""Turn a LowState into the observation contract's robot state.

Measured: joint angles and speeds, pelvis orientation and angular velocity (IMU).
Not measured on the robot yet, taken from the reference motion instead (open loop):
the pelvis position and linear velocity and the object pose. Key-body positions come
from forward kinematics of the measured joints placed at that pelvis position.
numpy + mujoco only.
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
) -> HoiState:
    """(N = 1) state from sensor values (motor order, IMU wxyz) and the reference frame."""
    root_quat = quat.normalize(np.asarray(imu_quat, dtype=np.float64)[None])
    body_pos, body_quat = forward_kinematics(ref.root_pos, root_quat, joint_pos[None])
    return HoiState(
        root_pos=ref.root_pos.copy(),
        root_quat=root_quat,
        root_lin_vel=ref.root_lin_vel.copy(),
        root_ang_vel=np.asarray(gyro, dtype=np.float64)[None],
        joint_pos=np.asarray(joint_pos, dtype=np.float64)[None],
        joint_vel=np.asarray(joint_vel, dtype=np.float64)[None],
        body_pos=body_pos[:, _KEYS],
        body_quat=body_quat[:, _KEYS],
        body_lin_vel=ref.body_lin_vel.copy(),
        object_pos=ref.object_pos.copy(),
        object_quat=ref.object_quat.copy(),
        object_lin_vel=ref.object_lin_vel.copy(),
        object_ang_vel=ref.object_ang_vel.copy(),
    )
