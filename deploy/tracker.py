"""A tracked body as the node uses it: the latest valid capture, its velocity from
consecutive captures, and its pose extrapolated over the tracker's latency and the
sample's age, so the policy sees where the body is now rather than where it was.

Velocities come from the capture stamps (the tracker's clock), ages from the node's
own clock at reception, so the two machines' clocks never need to agree. numpy only.
"""

from __future__ import annotations

import threading

import numpy as np

from robots import quat


class TrackedBody:
    def __init__(self, latency: float):
        self.latency = latency  # s from capture to reception, as the tracker documents it
        self._lock = threading.Lock()
        self._stamp = -np.inf
        self._received = -np.inf
        self._pos = np.zeros(3)
        self._quat = np.array([1.0, 0.0, 0.0, 0.0])
        self._lin_vel = np.zeros(3)
        self._ang_vel = np.zeros(3)

    def add(self, stamp: float, position, quaternion, received: float) -> None:
        """A valid capture (older or repeated captures are ignored)."""
        pos = np.asarray(position, dtype=np.float64)
        q = quat.normalize(np.asarray(quaternion, dtype=np.float64))
        with self._lock:
            dt = stamp - self._stamp
            if dt <= 0:
                return
            if np.isfinite(self._stamp) and dt < 0.5:  # a gap: no velocity across it
                self._lin_vel = (pos - self._pos) / dt
                self._ang_vel = quat.log(quat.multiply(q, quat.conjugate(self._quat))) / dt
            else:
                self._lin_vel, self._ang_vel = np.zeros(3), np.zeros(3)
            self._stamp, self._received, self._pos, self._quat = stamp, received, pos, q

    def age(self, now: float) -> float:
        """s since the latest valid capture arrived (inf before the first)."""
        with self._lock:
            return now - self._received

    def pose(self, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(position, quaternion wxyz, linear velocity, angular velocity) now: the latest
        capture moved on at its velocity for the latency plus the sample's age."""
        with self._lock:
            ahead = self.latency + max(now - self._received, 0.0)
            pos = self._pos + self._lin_vel * ahead
            turn = self._ang_vel * ahead
            angle = float(np.linalg.norm(turn))
            q = self._quat
            if angle > 1e-12:
                q = quat.multiply(quat.from_axis_angle(turn, angle), q)
            return pos, quat.normalize(q), self._lin_vel.copy(), self._ang_vel.copy()
