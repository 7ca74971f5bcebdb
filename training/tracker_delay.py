"""A tracker's latency in training: the policy sees the object where a tracker saw it a
drawn number of control steps ago, moved on over that time at the velocity the node
estimates, as the robot node extrapolates a late capture (``contract.tracker``); where
the tracker also sees the pelvis, its position as late, carried to now by leg
odometry's velocities of the steps since (``contract.tracker.TrackedBody.carried``),
and its velocity leg odometry's now (``contract.leg_odometry``).

The node's velocities are a line fit through the captures of its window (0.1 s): for a
smoothly moving body that is the mean velocity over the window, half a window older
than the capture. Here the velocities are that mean over the recorded states, so that
what is left between the seen pose and the truth is the error the node's compensation
leaves when a body accelerates, lag included. The latency is drawn per episode at
control-step resolution; a tracker's position noise adds what the node's line fit
leaves of it, independently each step."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from array_api_compat import device

from common.array_namespace import namespace
from contract.leg_odometry import pelvis_velocity_of
from contract.state import HoiState
from contract.tracker import TrackedBody, extrapolate
from robots import quat


def _line_fit_noise(captures: int, period: float) -> tuple[float, float]:
    """Standard deviations of the end position and the slope of a least-squares line
    through ``captures`` samples ``period`` s apart, per unit of sample noise."""
    t = np.arange(captures) * period
    design = np.c_[np.ones(captures), t - t[-1]]
    cov = np.linalg.inv(design.T @ design)
    return float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))


# The node's object pose: a line fit over 0.1 s of 100 Hz captures (contract.tracker).
FIT_POSITION, FIT_VELOCITY = _line_fit_noise(10, 0.01)


class TrackerDelay:
    """The tracked bodies' recent true states per simulation, and each simulation's
    latency in steps."""

    OBJECT = ("object_pos", "object_quat", "object_lin_vel", "object_ang_vel")
    PELVIS = ("root_pos", "odometry")

    def __init__(self, n: int, most_steps: int, control_hz: float, pelvis: bool = False,
                 like=None, rng=None, window: float = TrackedBody.WINDOW):  # fmt: skip
        """``like``: an array whose namespace, float dtype and device the history takes
        (default numpy); ``rng`` draws the noise (with ``restart``'s ``noise``);
        ``window``: s of captures the node's velocities average over."""
        self.control_hz, self.most_steps, self.rng = control_hz, most_steps, rng
        self.window = max(1, round(window * control_hz))  # in control steps
        like = np.zeros(0) if like is None else like
        xp, dev = namespace(like), device(like)
        self.steps = xp.zeros(n, dtype=xp.int64, device=dev)
        self.noise = xp.zeros(n, dtype=like.dtype, device=dev)
        self.fresh = xp.ones(n, dtype=xp.bool, device=dev)
        self.rows = xp.arange(n, device=dev)
        fields = self.OBJECT + (self.PELVIS if pelvis else ())
        depth = most_steps + 1 + self.window
        self.history = {f: xp.zeros((depth, n, 4 if f == "object_quat" else 3),
                                    dtype=like.dtype, device=dev)
                        for f in fields}  # fmt: skip

    def restart(self, ids: np.ndarray, steps: np.ndarray, noise=0.0) -> None:
        """New episodes for ``ids`` with these latencies (steps) and position noise (m):
        their history starts again from the next observed state."""
        self.steps[ids] = steps
        self.noise[ids] = noise
        self.fresh[ids] = True

    def observe(self, state: HoiState) -> HoiState:
        """``state`` with the tracked bodies as the tracker reports them. Records the
        true state: call once per control step."""
        xp, seen, h = namespace(state.object_pos), {}, self.history
        odometry = pelvis_velocity_of(state) if "odometry" in h else None
        for name, past in h.items():
            value = odometry if name == "odometry" else getattr(state, name)
            past[1:] = xp.asarray(past[:-1], copy=True)
            past[0] = value
            past[:, self.fresh] = value[self.fresh]
            seen[name] = past[self.steps, self.rows]
        self.fresh[:] = False
        # the node's velocities: the mean over the window that ends at the capture
        first, span = self.steps + self.window, self.window / self.control_hz
        seen["object_lin_vel"] = (seen["object_pos"] - h["object_pos"][first, self.rows]) / span
        earlier = quat.conjugate(h["object_quat"][first, self.rows])
        seen["object_ang_vel"] = quat.log(quat.multiply(seen["object_quat"], earlier)) / span
        pos, q, lin, ang = extrapolate(*(seen[f] for f in self.OBJECT),
                                       self.steps / self.control_hz)  # fmt: skip
        late = dict(object_pos=pos, object_quat=q, object_lin_vel=lin, object_ang_vel=ang)
        if "odometry" in h:  # the steps since the capture, each velocity held for one
            ago = xp.arange(h["odometry"].shape[0], device=device(pos))[:, None]
            held = xp.astype((ago >= 1) & (ago <= self.steps), pos.dtype)
            moved = xp.sum(held[..., None] * h["odometry"], axis=0) / self.control_hz
            late.update(root_pos=seen["root_pos"] + moved, root_lin_vel=odometry)
        if self.rng is not None:
            late["object_pos"] = late["object_pos"] + self._noise(FIT_POSITION)
            late["object_lin_vel"] = late["object_lin_vel"] + self._noise(FIT_VELOCITY)
            if "root_pos" in late:
                late["root_pos"] = late["root_pos"] + self._noise(FIT_POSITION)
        return replace(state, **late)

    def _noise(self, scale: float):
        return scale * self.noise[:, None] * self.rng.normal(size=(len(self.noise), 3))
