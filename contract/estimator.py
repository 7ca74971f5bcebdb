"""Turn a LowState (and the tracker's poses) into the observation contract's robot state:
what the robot node and sim2sim's robot-like sensing both give a policy.

Measured: joint angles and speeds, pelvis orientation and angular velocity (IMU); the
pelvis linear velocity by leg odometry (``contract.leg_odometry``); the object's pose
and velocity, and the pelvis position, where a tracker gives them (``contract.tracker``:
the pelvis's late capture carried to now by the odometry). What no source gives is
taken from the reference motion (open loop). Key-body positions come from forward
kinematics of the measured joints placed at the pelvis position. numpy + mujoco only.
"""

from __future__ import annotations

import numpy as np

from contract.leg_odometry import pelvis_velocity
from contract.state import KEY_BODIES, HoiState
from contract.tracker import with_tracked
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
    pelvis_position: np.ndarray | None = None,
) -> HoiState:
    """(N = 1) state from sensor values (motor order, IMU wxyz), the tracked object
    (``TrackedBody.pose``: position, quaternion, linear and angular velocity) and the
    tracked pelvis position (``TrackedBody.carried``) where given, and the reference
    frame."""
    root_quat = quat.normalize(np.asarray(imu_quat, dtype=np.float64)[None])
    root_pos = ref.root_pos if pelvis_position is None else np.asarray(pelvis_position)[None]
    joint_pos = np.asarray(joint_pos, dtype=np.float64)[None]
    joint_vel = np.asarray(joint_vel, dtype=np.float64)[None]
    root_ang_vel = np.asarray(gyro, dtype=np.float64)[None]
    body_pos, body_quat = forward_kinematics(root_pos, root_quat, joint_pos)
    state = HoiState(
        root_pos=np.array(root_pos, dtype=np.float64),
        root_quat=root_quat,
        root_lin_vel=pelvis_velocity(root_quat, joint_pos, joint_vel, root_ang_vel),
        root_ang_vel=root_ang_vel,
        joint_pos=joint_pos,
        joint_vel=joint_vel,
        body_pos=body_pos[:, _KEYS],
        body_quat=body_quat[:, _KEYS],
        body_lin_vel=ref.body_lin_vel.copy(),
        object_pos=ref.object_pos.copy(),
        object_quat=ref.object_quat.copy(),
        object_lin_vel=ref.object_lin_vel.copy(),
        object_ang_vel=ref.object_ang_vel.copy(),
    )
    return with_tracked(state, tracked_object)
