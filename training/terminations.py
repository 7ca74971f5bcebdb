"""Early-termination conditions, one function each, (N,) booleans."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robots import g1
from training.metrics import body_error
from training.observations import HAND_CONTACT, projected_gravity_of
from training.state import HoiState

TOUCH_DISTANCE = 0.05  # m: a hand surface this close to the object still holds it


@dataclass(frozen=True)
class TerminationConfig:
    min_root_height: float = 0.3  # m
    max_tilt_cos: float = 0.3  # pelvis z-axis below this cosine to vertical: fallen
    object_deviation: float = 0.5  # m
    body_deviation: float = 0.5  # m, mean over key bodies
    contact_lost_frames: int = 10


def fallen(s: HoiState, cfg: TerminationConfig) -> np.ndarray:
    up = -projected_gravity_of(s.root_quat)[:, 2]
    return (s.root_pos[:, 2] < cfg.min_root_height) | (up < cfg.max_tilt_cos)


def object_deviated(s: HoiState, ref: HoiState, cfg: TerminationConfig) -> np.ndarray:
    return np.linalg.norm(s.object_pos - ref.object_pos, axis=1) > cfg.object_deviation


def robot_deviated(s: HoiState, ref: HoiState, cfg: TerminationConfig) -> np.ndarray:
    return body_error(s, ref) > cfg.body_deviation


def hands_touching(hoi_distance: np.ndarray) -> np.ndarray:
    """(N, 2) whether each hand's surface is within TOUCH_DISTANCE of the object's, from
    the ``body_object_distance`` of the HOI bodies (measured from the hand links' origins
    on the hand capsule's axis: the capsule radius is taken off)."""
    return hoi_distance[:, HAND_CONTACT] - g1.HAND_RADIUS < TOUCH_DISTANCE


def count_contact_lost(
    lost: np.ndarray, touching: np.ndarray, ref_contact: np.ndarray
) -> np.ndarray:
    """Consecutive frames each hand the reference has in contact has not been touching."""
    return np.where((ref_contact[:, :2] > 0.5) & ~touching, lost + 1, 0)


def contact_lost(lost_frames: np.ndarray, cfg: TerminationConfig) -> np.ndarray:
    """``lost_frames``: consecutive frames a hand the reference has in contact was not
    touching the object."""
    return lost_frames.max(axis=1) > cfg.contact_lost_frames


def standing(s: HoiState, min_height: float, upright_cos: float) -> np.ndarray:
    """(N,) the robot is up: pelvis above ``min_height`` (m) and its z-axis within
    ``upright_cos`` of vertical (the get-up task's end)."""
    up = -projected_gravity_of(s.root_quat)[:, 2]
    return (s.root_pos[:, 2] > min_height) & (up > upright_cos)
