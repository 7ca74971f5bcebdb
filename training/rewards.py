"""Reward terms, one function each, (N,) arrays: numpy arrays or torch tensors, one
source for both (``common.array_namespace``). Tracking terms are exp(-error/sigma^2) in
[0, 1] (1 on the reference); penalties are <= 0. Weights live in ``RewardConfig``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.array_namespace import constant, namespace, readonly
from contract.observations import HOI_BODIES, projected_gravity_of
from contract.state import KEY_BODIES, HoiState
from robots import g1, quat

_HANDS = ("left_wrist_yaw_link", "right_wrist_yaw_link")
HAND_SLOTS = readonly([HOI_BODIES.index(h) for h in _HANDS])  # in the HOI distances
HAND_BODIES = readonly([KEY_BODIES.index(h) for h in _HANDS])  # in the state's bodies
# The feet in the state's bodies, in the order of the clip's foot contact labels.
FEET = readonly([KEY_BODIES.index(f"{s}_ankle_roll_link") for s in ("left", "right")])
# The palm faces along -y of the left hand frame and +y of the right one.
PALM_AXIS = readonly([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
GRASP_DISTANCE = 0.05  # m: the grasp reward's distance scale


@dataclass(frozen=True)
class RewardConfig:
    body_pos: float = 1.0
    body_rot: float = 0.5
    body_vel: float = 0.3
    object_pos: float = 1.0
    object_rot: float = 0.3
    contact: float = 0.5
    grasp: float = 0.5
    energy: float = -1e-4
    foot_slip: float = -0.5  # per m/s of a planted foot's horizontal speed
    termination: float = -2.0
    sigma_body_pos: float = 0.3
    sigma_body_rot: float = 0.6
    sigma_body_vel: float = 2.0
    sigma_object_pos: float = 0.3
    sigma_object_rot: float = 0.6


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    xp = namespace(a, b)
    return xp.linalg.vector_norm(quat.log(quat.multiply(a, quat.conjugate(b))), axis=-1)


def _mean_sq_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) mean over the bodies of the squared distance between (N, K, 3) points."""
    xp = namespace(a, b)
    return xp.mean(xp.sum((a - b) ** 2, axis=-1), axis=1)


def body_pos_tracking(s: HoiState, ref: HoiState, sigma: float) -> np.ndarray:
    xp = namespace(s.body_pos)
    return xp.exp(-_mean_sq_distance(s.body_pos, ref.body_pos) / sigma**2)


def body_rot_tracking(s: HoiState, ref: HoiState, sigma: float) -> np.ndarray:
    xp = namespace(s.body_quat)
    err = xp.mean(_angle(s.body_quat, ref.body_quat) ** 2, axis=1)
    return xp.exp(-err / sigma**2)


def body_vel_tracking(s: HoiState, ref: HoiState, sigma: float) -> np.ndarray:
    xp = namespace(s.body_lin_vel)
    return xp.exp(-_mean_sq_distance(s.body_lin_vel, ref.body_lin_vel) / sigma**2)


def object_pos_tracking(s: HoiState, ref: HoiState, sigma: float) -> np.ndarray:
    xp = namespace(s.object_pos)
    return xp.exp(-xp.sum((s.object_pos - ref.object_pos) ** 2, axis=-1) / sigma**2)


def object_rot_tracking(s: HoiState, ref: HoiState, sigma: float) -> np.ndarray:
    xp = namespace(s.object_quat)
    return xp.exp(-(_angle(s.object_quat, ref.object_quat) ** 2) / sigma**2)


def contact_tracking(hand_touch: np.ndarray, ref_contact: np.ndarray) -> np.ndarray:
    """Share of the two hands whose touching (N, 2) matches the reference labels."""
    xp = namespace(ref_contact)
    match = hand_touch == (ref_contact[:, :2] > 0.5)
    return xp.mean(xp.astype(match, ref_contact.dtype), axis=1)


def grasp(s: HoiState, ref_contact: np.ndarray, dist: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Reference-free r_h: for each hand the reference has in contact, how close it is
    to the object surface times how well its palm faces the surface; mean over those
    hands (0 when no hand should touch). ``dist``/``normal``: ``body_object_distance``."""
    xp = namespace(dist)
    slots = constant(HAND_SLOTS, dist)
    d, n = dist[:, slots], normal[:, slots]
    hand_quat = s.body_quat[:, constant(HAND_BODIES, dist)]
    palm = quat.rotate(hand_quat, xp.broadcast_to(constant(PALM_AXIS, d), (d.shape[0], 2, 3)))
    facing = xp.clip(-xp.sum(palm * n, axis=-1), 0.0, 1.0)
    gap = xp.clip(d - g1.HAND_RADIUS, min=0.0)  # hand surface to object surface
    score = xp.exp(-((gap / GRASP_DISTANCE) ** 2)) * facing
    want = xp.astype(ref_contact[:, :2] > 0.5, d.dtype)
    wanted = xp.sum(want, axis=1)
    return xp.where(wanted > 0, xp.sum(score * want, axis=1) / xp.clip(wanted, min=1.0), 0.0)


def foot_slip(s: HoiState, ref_contact: np.ndarray) -> np.ndarray:
    """Horizontal speed (m/s) of the feet the reference keeps planted, summed."""
    xp = namespace(s.body_lin_vel)
    speed = xp.linalg.vector_norm(s.body_lin_vel[:, constant(FEET, s.body_lin_vel), :2], axis=-1)
    return xp.sum(speed * xp.astype(ref_contact[:, 2:4] > 0.5, speed.dtype), axis=1)


def energy(actuator_force: np.ndarray, joint_vel: np.ndarray) -> np.ndarray:
    """Mechanical power |tau . qdot| summed over the joints (W); weight it negative."""
    xp = namespace(actuator_force, joint_vel)
    return xp.sum(xp.abs(actuator_force * joint_vel), axis=1)


# Stage 3 (in-betweening and get-up) terms ------------------------------------------


def goal_success(distance: np.ndarray, due: np.ndarray, xi: float) -> np.ndarray:
    """Sparse r_succ: 1 where a goal falls due this step and its masked feature distance
    (``contract.goals.features.goal_distance``, m) is below ``xi``."""
    xp = namespace(distance)
    reached = xp.where(xp.isnan(distance), xp.inf, distance) < xi
    return xp.astype(due & reached, distance.dtype)


def upright(s: HoiState) -> np.ndarray:
    """Pelvis z-axis alignment with vertical mapped to [0, 1] (get-up)."""
    return 0.5 * (1.0 - projected_gravity_of(s.root_quat)[:, 2])


def com_height(com_z: np.ndarray, standing_z: float) -> np.ndarray:
    """Robot centre-of-mass height as a share of its standing height, capped at 1."""
    return namespace(com_z).clip(com_z / standing_z, 0.0, 1.0)
