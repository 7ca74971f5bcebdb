"""The pelvis's linear velocity from what the robot measures, where no tracker sees the
pelvis: legged odometry.

A foot in stance does not move, so the pelvis moves opposite to that foot's motion
relative to it: ``v = -d/dt r``, ``r = R p(q)`` the foot's offset from the pelvis in
world axes (forward kinematics of the measured joints ``q``, the IMU orientation
``R``). Its derivative is taken at this instant from the measured rates, the gyro
``w`` and the joint speeds ``dq``: ``d/dt r = w x r + R J(q) dq``, with ``R J(q) dq``
the kinematics' derivative along ``dq``. The stance foot is the lower one. Nothing is
differenced over time, so the estimate is not a step late and does not depend on how
regularly the steps come. ``pelvis_velocity_of`` gives the same estimate from a whole
simulated state (training's batches, numpy or torch): the truth less the stance foot's
own velocity. ``OdometryTrail`` keeps the estimates of the last steps, to carry a late
tracked pelvis position to now. numpy (and torch for the batches).
"""

from __future__ import annotations

from collections import deque

import numpy as np
from array_api_compat import device

from common.array_namespace import constant, namespace, readonly
from contract.state import KEY_BODIES, HoiState
from robots import g1, quat
from robots.clip import forward_kinematics

_FOOT_NAMES = ("left_ankle_roll_link", "right_ankle_roll_link")
_FEET = np.array([g1.BODY_NAMES.index(f) for f in _FOOT_NAMES])
_STATE_FEET = readonly([KEY_BODIES.index(f) for f in _FOOT_NAMES])  # in a state's bodies
_PELVIS = g1.BODY_NAMES.index("pelvis")
_STEP = 1e-3  # s: the central difference of the kinematics along the joint speeds


def _feet(root_quat: np.ndarray, joint_pos: np.ndarray) -> np.ndarray:
    """(M, 2, 3) the feet's offsets from the pelvis in world axes."""
    body_pos, _ = forward_kinematics(np.zeros((len(joint_pos), 3)), root_quat, joint_pos)
    return body_pos[:, _FEET] - body_pos[:, _PELVIS, None]


def pelvis_velocity(
    root_quat: np.ndarray, joint_pos: np.ndarray, joint_vel: np.ndarray, gyro: np.ndarray
) -> np.ndarray:
    """(1, 3) the pelvis velocity in world axes from one measurement: orientation (1, 4),
    joint angles and speeds (1, 29), gyro (1, 3) in the pelvis frame."""
    quats = np.repeat(root_quat, 3, axis=0)
    moved = joint_pos + np.array([[0.0], [_STEP], [-_STEP]]) * joint_vel
    offset, ahead, behind = _feet(quats, moved)
    stance = int(np.argmin(offset[:, 2]))
    omega = quat.rotate(root_quat, gyro)[0]  # world axes
    rate = np.cross(omega, offset[stance]) + (ahead[stance] - behind[stance]) / (2 * _STEP)
    return -rate[None]


def pelvis_velocity_of(state: HoiState):
    """(N, 3) what ``pelvis_velocity`` measures for each of a batch of true states."""
    xp = namespace(state.body_pos)
    feet = constant(_STATE_FEET, state.body_pos)
    stance = xp.argmin(state.body_pos[:, feet, 2], axis=1)
    rows = xp.arange(state.body_pos.shape[0], device=device(state.body_pos))
    return state.root_lin_vel - state.body_lin_vel[rows, feet[stance]]


class OdometryTrail:
    """Leg odometry's pelvis velocities of the last policy steps by time (the node's
    clock), each held until the next: how far they say the pelvis moved since a past
    instant, such as a tracker's late capture (``contract.tracker.TrackedBody.carried``)."""

    SPAN = 0.5  # s of velocities kept
    MAX_GAP = 0.05  # s a velocity is held at most: longer without a step breaks the trail

    def __init__(self):
        self._times: deque[float] = deque()
        self._velocities: deque[np.ndarray] = deque()

    def add(self, now: float, velocity) -> None:
        """The pelvis velocity (3,) estimated at ``now``."""
        self._times.append(now)
        self._velocities.append(np.asarray(velocity, dtype=np.float64).reshape(3))
        while now - self._times[0] > self.SPAN:
            self._times.popleft()
            self._velocities.popleft()

    def moved(self, since: float, now: float) -> np.ndarray | None:
        """(3,) the displacement from ``since`` to ``now``; None where the trail does not
        cover that time (no velocity at or before ``since``, or a gap over ``MAX_GAP``)."""
        t = np.array(self._times)
        if not len(t) or t[0] > since:
            return None
        ends = np.append(t[1:], now)
        held = np.clip(ends - np.maximum(t, since), 0.0, None)
        if np.any((ends - t)[held > 0] > self.MAX_GAP):
            return None
        return held @ np.array(self._velocities)
