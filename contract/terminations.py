"""Early-termination conditions, one function each, (N,) booleans: numpy arrays or torch
tensors, one source for both (``common.array_namespace``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from common.array_namespace import constant, namespace
from contract.metrics import body_error
from contract.observations import HAND_CONTACT, projected_gravity_of
from contract.state import HoiState
from robots import g1

TOUCH_DISTANCE = 0.05  # m: a hand surface this close to the object still holds it


@dataclass(frozen=True)
class TerminationConfig:
    min_root_height: float = 0.3  # m
    max_tilt_cos: float = 0.3  # pelvis z-axis below this cosine to vertical: fallen
    object_deviation: float = 0.5  # m
    body_deviation: float = 0.5  # m, mean over key bodies
    contact_lost_frames: int = 10

    def falls_only(self) -> TerminationConfig:
        """Goal tasks without a full reference: only a fall ends an attempt early."""
        return replace(self, object_deviation=np.inf, body_deviation=np.inf,
                       contact_lost_frames=10**9)  # fmt: skip


def fallen(s: HoiState, cfg: TerminationConfig) -> np.ndarray:
    up = -projected_gravity_of(s.root_quat)[:, 2]
    return (s.root_pos[:, 2] < cfg.min_root_height) | (up < cfg.max_tilt_cos)


def object_deviated(s: HoiState, ref: HoiState, cfg: TerminationConfig) -> np.ndarray:
    xp = namespace(s.object_pos)
    return xp.linalg.vector_norm(s.object_pos - ref.object_pos, axis=1) > cfg.object_deviation


def robot_deviated(s: HoiState, ref: HoiState, cfg: TerminationConfig) -> np.ndarray:
    return body_error(s, ref) > cfg.body_deviation


def hands_touching(hoi_distance: np.ndarray) -> np.ndarray:
    """(N, 2) whether each hand's surface is within TOUCH_DISTANCE of the object's, from
    the ``body_object_distance`` of the HOI bodies (measured from the hand links' origins
    on the hand capsule's axis: the capsule radius is taken off)."""
    hands = hoi_distance[:, constant(HAND_CONTACT, hoi_distance)]
    return hands - g1.HAND_RADIUS < TOUCH_DISTANCE


def count_contact_lost(
    lost: np.ndarray, touching: np.ndarray, ref_contact: np.ndarray
) -> np.ndarray:
    """Consecutive frames each hand the reference has in contact has not been touching."""
    xp = namespace(lost, ref_contact)
    return xp.where((ref_contact[:, :2] > 0.5) & ~touching, lost + 1, 0)


def contact_lost(lost_frames: np.ndarray, cfg: TerminationConfig) -> np.ndarray:
    """``lost_frames``: consecutive frames a hand the reference has in contact was not
    touching the object."""
    return namespace(lost_frames).max(lost_frames, axis=1) > cfg.contact_lost_frames


@dataclass(frozen=True)
class GetupConfig:
    """The get-up skill's task token: on while the robot is down, off once it stands."""

    seconds: float = 5.0  # not standing within this ends the attempt
    standing_height: float = 0.6  # m: pelvis height of a robot that stands
    upright_cos: float = 0.8  # pelvis z-axis cosine to vertical of a robot that stands


def tracking_causes(
    s: HoiState, ref: HoiState, lost_frames: np.ndarray, cfg: TerminationConfig
) -> dict[str, np.ndarray]:
    """The early-termination causes of tracking a reference, (N,) booleans each, in the
    order that names an attempt's end when several hold (tasks mask or add causes)."""
    return {
        "fall": fallen(s, cfg),
        "object_deviation": object_deviated(s, ref, cfg),
        "robot_deviation": robot_deviated(s, ref, cfg),
        "contact_lost": contact_lost(lost_frames, cfg),
    }


def with_getup(
    causes: dict[str, np.ndarray], getup: np.ndarray, getup_steps: np.ndarray, limit: float
) -> dict[str, np.ndarray]:
    """``causes`` for robots with the get-up token: one getting up (``getup``) has not
    fallen; one still getting up after ``limit`` steps ends its attempt."""
    return {**causes, "fall": causes["fall"] & ~getup,
            "getup_timeout": getup & (getup_steps > limit)}  # fmt: skip


def standing(s: HoiState, cfg: GetupConfig) -> np.ndarray:
    """(N,) the robot is up: pelvis above ``standing_height`` and its z-axis within
    ``upright_cos`` of vertical (the get-up task's end)."""
    up = -projected_gravity_of(s.root_quat)[:, 2]
    return (s.root_pos[:, 2] > cfg.standing_height) & (up > cfg.upright_cos)
