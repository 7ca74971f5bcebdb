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
from robots.objects import signed_distance

_HANDS = ("left_wrist_yaw_link", "right_wrist_yaw_link")
HAND_SLOTS = readonly([HOI_BODIES.index(h) for h in _HANDS])  # in the HOI distances
HAND_BODIES = readonly([KEY_BODIES.index(h) for h in _HANDS])  # in the state's bodies
# The feet in the state's bodies, in the order of the clip's foot contact labels.
FEET = readonly([KEY_BODIES.index(f"{s}_ankle_roll_link") for s in ("left", "right")])
# The palm faces along -y of the left hand frame and +y of the right one.
PALM_AXIS = readonly([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
GRASP_DISTANCE = 0.05  # m: the grasp reward's distance scale
HAND_REACH = 0.3  # m: a reference hand this near the object surface is reaching for it
TORSO = KEY_BODIES.index("torso_link")
# The torso link's collision shapes as spheres (centre in its frame, radius): the
# capsule's two ends and the head (robots.g1.table).
TORSO_POINTS = readonly([[0.01, 0.0, 0.08, 0.09], [0.01, 0.0, 0.2, 0.09], [0.0, 0.0, 0.43, 0.06]])
TORSO_MARGIN = 0.1  # m: closer than this to the object, the torso keeps the reference's gap
SOFT_LIMIT = 0.9  # share of each joint's range
_MIDDLE, _HALF = (g1.JOINT_UPPER + g1.JOINT_LOWER) / 2, (g1.JOINT_UPPER - g1.JOINT_LOWER) / 2
SOFT_LOWER = readonly(_MIDDLE - SOFT_LIMIT * _HALF)
SOFT_UPPER = readonly(_MIDDLE + SOFT_LIMIT * _HALF)


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
    hand_object: float = 0.0  # hands where the reference has them relative to the object
    torso_clearance: float = 0.0  # per m the torso and head come closer than the reference
    joint_limits: float = 0.0  # per rad past the soft limits where the reference is not
    termination: float = -2.0
    sigma_body_pos: float = 0.3
    sigma_body_rot: float = 0.6
    sigma_body_vel: float = 2.0
    sigma_object_pos: float = 0.3
    sigma_object_rot: float = 0.6
    sigma_hand_object: float = 0.1


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


def _in_object_frame(s: HoiState, bodies) -> np.ndarray:
    """(N, K, 3) positions of the state's ``bodies`` in its object's frame."""
    xp = namespace(s.body_pos)
    rel = s.body_pos[:, constant(bodies, s.body_pos)] - s.object_pos[:, None]
    inv = xp.broadcast_to(quat.conjugate(s.object_quat)[:, None], (*rel.shape[:-1], 4))
    return quat.rotate(inv, rel)


def hand_object(s: HoiState, ref: HoiState, ref_dist: np.ndarray, sigma: float) -> np.ndarray:
    """The hands placed on the object as the reference places them on its object: for
    each hand the reference brings within ``HAND_REACH`` of the object surface, exp(-e^2
    / sigma^2) of its position error in the object's frame; mean over those hands (0
    when none is near). The hands reach for the object where it is, not where the clip
    put it. ``ref_dist``: the reference's ``body_object_distance``."""
    xp = namespace(ref_dist)
    err = xp.sum((_in_object_frame(s, HAND_BODIES) - _in_object_frame(ref, HAND_BODIES)) ** 2,
                 axis=-1)  # fmt: skip
    near = xp.astype(ref_dist[:, constant(HAND_SLOTS, ref_dist)] < HAND_REACH, err.dtype)
    count = xp.sum(near, axis=1)
    score = xp.sum(xp.exp(-err / sigma**2) * near, axis=1)
    return xp.where(count > 0, score / xp.clip(count, min=1.0), 0.0)


def _torso_clearance(s: HoiState, planes: list[np.ndarray]) -> np.ndarray:
    """(N,) the gap (m) between the object and the torso's and head's collision shapes."""
    xp = namespace(s.body_pos)
    centres = constant(TORSO_POINTS, s.body_pos)
    shape = (s.body_pos.shape[0], len(TORSO_POINTS))
    torso = xp.broadcast_to(s.body_quat[:, TORSO][:, None], (*shape, 4))
    offsets = xp.broadcast_to(centres[:, :3], (*shape, 3))
    pos = s.body_pos[:, TORSO][:, None] + quat.rotate(torso, offsets)
    rel = pos - s.object_pos[:, None]
    inv = xp.broadcast_to(quat.conjugate(s.object_quat)[:, None], (*rel.shape[:-1], 4))
    dist, _ = signed_distance(planes, quat.rotate(inv, rel))
    return xp.min(dist - centres[:, 3], axis=1)


def torso_clearance(s: HoiState, ref: HoiState, planes: list[np.ndarray]) -> np.ndarray:
    """How far (m) the torso and head come closer to the object than the reference has
    them, counted up to ``TORSO_MARGIN`` (no leaning on it where the reference does not);
    weight it negative."""
    xp = namespace(s.body_pos)
    wanted = xp.clip(_torso_clearance(ref, planes), max=TORSO_MARGIN)
    return xp.clip(wanted - _torso_clearance(s, planes), min=0.0)


def joint_limits(s: HoiState, ref: HoiState) -> np.ndarray:
    """rad past the soft joint limits (``SOFT_LIMIT`` of each range about its middle),
    summed over the joints; where the reference itself is past them, its angle is the
    limit. Weight it negative."""
    xp = namespace(s.joint_pos)
    lo, hi = constant(SOFT_LOWER, s.joint_pos), constant(SOFT_UPPER, s.joint_pos)
    lo, hi = xp.minimum(lo, ref.joint_pos), xp.maximum(hi, ref.joint_pos)
    past = xp.clip(s.joint_pos - hi, min=0.0) + xp.clip(lo - s.joint_pos, min=0.0)
    return xp.sum(past, axis=1)


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
