"""A tracked body as the node uses it: the latest valid capture, its velocity from
consecutive captures, and its pose extrapolated over the tracker's latency and the
sample's age, so the policy sees where the body is now rather than where it was; a
tracked pelvis is carried to now by leg odometry instead (``TrackedBody.carried``).

Velocities come from the capture stamps (the tracker's clock), ages from the node's
own clock at reception, so the two machines' clocks never need to agree. The same
model runs in sim2sim (``SimulatedTracker`` feeding a ``TrackedBody``), and the node's
estimator and sim2sim apply a tracked pose to the state through ``with_tracked``.
numpy; ``extrapolate`` also takes torch tensors (training's tracker latency).
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from common.array_namespace import namespace
from contract.state import HoiState
from robots import quat

OBJECT, PELVIS = 0, 1  # the tracked bodies, as the tracker topic numbers them


class TrackedBody:
    """The latest valid captures of one body. Its velocity and present position are a
    least-squares line through the captures of the last ``window`` s (a difference of
    two noisy captures 10 ms apart would turn 5 mm of noise into 0.7 m/s).

    A capture is checked before use and dropped (counted in ``dropped`` by reason): not
    finite, a quaternion far from unit length, a stamp that does not advance as the
    node's clock does (older, repeated, or ahead of the time passed since the last
    capture by more than ``CLOCK_SLACK``), or a jump faster than ``MAX_SPEED``. When
    ``RESTART_AFTER`` dropped captures in a row agree with each other (a tracker that
    restarted its clock, an object that really is elsewhere), they start the body
    again."""

    MAX_SPEED = 5.0  # m/s between captures
    CLOCK_SLACK = 0.25  # s a stamp may run ahead of the node's clock since the last one
    RESTART_AFTER = 5  # consistent dropped captures that start the body again
    MAX_CAPTURES = 64  # kept at most, whatever the stamps
    WINDOW = 0.1  # s of captures the velocities are fitted over

    def __init__(self, latency: float, window: float = WINDOW):
        self.latency = latency  # s from capture to reception, as the tracker documents it
        self.window = window
        self._lock = threading.Lock()
        self._captures: deque[tuple[float, np.ndarray, np.ndarray]] = deque(
            maxlen=self.MAX_CAPTURES
        )
        self._received = -np.inf
        self._pos = np.zeros(3)
        self._quat = np.array([1.0, 0.0, 0.0, 0.0])
        self._lin_vel = np.zeros(3)
        self._ang_vel = np.zeros(3)
        self._rejected: deque[tuple[float, np.ndarray, np.ndarray, float]] = deque(
            maxlen=self.RESTART_AFTER
        )
        self.dropped: dict[str, int] = {}

    def add(self, stamp: float, position, quaternion, received: float) -> bool:
        """A capture received at ``received`` (the node's clock); whether it was used.
        After a gap of more than the window the velocity starts again from zero."""
        pos = np.asarray(position, dtype=np.float64)
        q = np.asarray(quaternion, dtype=np.float64)
        if not (np.isfinite(stamp) and np.isfinite(pos).all() and np.isfinite(q).all()):
            return self._drop("not finite")
        if abs(np.linalg.norm(q) - 1.0) > 0.1:
            return self._drop("not a unit quaternion")
        q = quat.normalize(q)
        with self._lock:
            reason = self._implausible(stamp, pos, received)
            if reason is not None:
                self._rejected.append((stamp, pos, q, received))
                if not self._restarts():
                    return self._drop(reason)
                self._captures.clear()
                self._rejected.clear()
            self._use(stamp, pos, q, received)
            return True

    def _drop(self, reason: str) -> bool:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        return False

    def _implausible(self, stamp: float, pos: np.ndarray, received: float) -> str | None:
        if not self._captures:
            return None
        last_stamp, last_pos, _ = self._captures[-1]
        return self._after(last_stamp, last_pos, self._received, stamp, pos, received)

    def _after(self, s0, p0, r0, s1, p1, r1) -> str | None:
        """What makes capture 1 implausible after capture 0 (stamp, position, received)."""
        elapsed = s1 - s0
        if elapsed <= 0:
            return "stamp not after the last"
        if elapsed > r1 - r0 + self.CLOCK_SLACK:
            return "stamp ahead of the clock"
        if np.linalg.norm(p1 - p0) > self.MAX_SPEED * elapsed:
            return "implausible jump"
        return None

    def _restarts(self) -> bool:
        """Whether the dropped captures in a row are a consistent new start."""
        caps = self._rejected
        return len(caps) == self.RESTART_AFTER and not any(
            self._after(s0, p0, r0, s1, p1, r1)
            for (s0, p0, _, r0), (s1, p1, _, r1) in itertools.pairwise(caps)
        )

    def _use(self, stamp: float, pos: np.ndarray, q: np.ndarray, received: float) -> None:
        caps = self._captures
        self._rejected.clear()
        if caps and stamp - caps[-1][0] > self.window:
            caps.clear()
        caps.append((stamp, pos, q))
        while stamp - caps[0][0] > self.window:
            caps.popleft()
        self._received, self._quat = received, q
        if len(caps) < 2:
            self._pos, self._lin_vel, self._ang_vel = pos, np.zeros(3), np.zeros(3)
            return
        t = np.array([c[0] for c in caps]) - stamp
        xs = np.array([c[1] for c in caps])
        fit = np.polyfit(t, xs, 1)  # (2, 3): velocity, position at the latest stamp
        self._lin_vel, self._pos = fit[0], fit[1]
        first = caps[0]
        turn = quat.log(quat.multiply(q, quat.conjugate(first[2])))
        self._ang_vel = turn / (stamp - first[0])

    def age(self, now: float) -> float:
        """s since the latest valid capture arrived (inf before the first)."""
        with self._lock:
            return now - self._received

    def pose(self, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(position, quaternion wxyz, linear velocity, angular velocity) now: the latest
        capture moved on at its velocity for the latency plus the sample's age."""
        with self._lock:
            ahead = self.latency + max(now - self._received, 0.0)
            moved = extrapolate(self._pos[None], self._quat[None], self._lin_vel[None],
                                self._ang_vel[None], np.array([ahead]))  # fmt: skip
            return tuple(x[0] for x in moved)

    def carried(self, now: float, trail) -> np.ndarray:
        """(3,) the position now: the fit at the latest capture carried on by leg
        odometry's ``trail`` (``contract.leg_odometry.OdometryTrail``) since the capture,
        where it covers that time, else at the fitted velocity (``pose``). The fitted
        velocity is the mean over the window, half a window older than the capture, and
        then the latency passes: odometry sees the motion since without that lag."""
        with self._lock:
            moved = trail.moved(self._received - self.latency, now)
            if moved is not None:
                return self._pos + moved
        return self.pose(now)[0]


def extrapolate(pos, q, lin_vel, ang_vel, ahead):
    """(N, ...) poses seen ``ahead`` (N,) s ago, moved on at their (world-frame) linear
    and angular velocities: (position, quaternion wxyz, linear and angular velocity)."""
    xp = namespace(pos)
    turn = ang_vel * ahead[:, None]
    angle = xp.linalg.vector_norm(turn, axis=1)
    turning = angle > 1e-12
    q = xp.asarray(q, copy=True)
    q[turning] = quat.multiply(quat.from_axis_angle(turn[turning], angle[turning]), q[turning])
    lin_vel, ang_vel = (xp.asarray(v, copy=True) for v in (lin_vel, ang_vel))
    return pos + lin_vel * ahead[:, None], quat.normalize(q), lin_vel, ang_vel


def with_tracked(state: HoiState, tracked_object: tuple | None) -> HoiState:
    """``state`` (N = 1) with the tracked object's pose and velocities where given
    (``TrackedBody.pose``); the node's estimator and sim2sim's tracker model both go
    through here."""
    if tracked_object is None:
        return state
    pos, q, lin, ang = (np.asarray(x, dtype=np.float64)[None] for x in tracked_object)
    return replace(state, object_pos=pos, object_quat=q, object_lin_vel=lin, object_ang_vel=ang)


@dataclass(frozen=True)
class TrackerSettings:
    """A simulated tracker (sim2sim, the virtual G1): captures at ``hz``, delivered
    ``latency`` s later, ``noise`` m of position noise, ``dropout`` of captures lost."""

    hz: float = 100.0
    latency: float = 0.03
    noise: float = 0.005
    dropout: float = 0.0


class SimulatedTracker:
    """Captures true poses and hands them out once their latency has passed."""

    def __init__(self, settings: TrackerSettings, rng: np.random.Generator):
        self.s, self.rng = settings, rng
        self.queue: deque[tuple[float, tuple]] = deque()
        self.next_capture = 0.0

    def capture(self, t: float, poses: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        """At simulation time ``t``: capture ``{body: (position, quaternion)}`` when a
        capture is due."""
        if t + 1e-9 < self.next_capture:
            return
        self.next_capture = t + 1.0 / self.s.hz
        for body, (pos, q) in poses.items():
            noisy = np.asarray(pos, dtype=np.float64) + self.rng.normal(0.0, self.s.noise, 3)
            valid = self.rng.uniform() >= self.s.dropout
            self.queue.append((t + self.s.latency, (t, body, noisy, np.array(q, float), valid)))

    def due(self, t: float) -> list[tuple]:
        """The captures (stamp, body, position, quaternion, valid) delivered by ``t``."""
        out = []
        while self.queue and self.queue[0][0] <= t + 1e-9:
            out.append(self.queue.popleft()[1])
        return out
