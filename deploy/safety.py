"""The safety layer every command passes before it is sent to the motors.

Guarantees for each emitted command, whatever the inputs: all values finite; position
targets within the joint limits minus a margin; a bounded change of each target from
the previous command; kp and kd within [0, max]; and the PD torque the motors would
produce at the measured state, kp (q_des - q) - kd dq (+ tau_ff = 0), within each
motor's effort limit (gains are scaled down where needed, so the targets stay inside
the joint limits). Non-finite inputs yield the damping command instead.
numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.actions import MAX_TARGET_RATE, SAFE_LOWER, SAFE_UPPER, ramped, safe_targets
from robots import g1

COMMAND_PERIOD = 1.0 / 500.0  # s: the node answers each 500 Hz LowState


@dataclass(frozen=True)
class SafetyLimits:
    """Gain and damping limits; the targets' range and speed are the action contract's
    (``contract.actions``), which training and sim2sim apply too."""

    max_kp: float = 1000.0  # N m / rad (the stand profile's largest is 892)
    max_kd: float = 30.0  # N m s / rad
    damping_kd: float = 3.0  # N m s / rad in the damping state
    lower = SAFE_LOWER
    upper = SAFE_UPPER
    max_step = MAX_TARGET_RATE * COMMAND_PERIOD  # rad per command


@dataclass
class Command:
    q: np.ndarray  # (29,) position targets
    kp: np.ndarray
    kd: np.ndarray
    dq: np.ndarray  # velocity targets (0)
    tau: np.ndarray  # feed-forward torques (0)
    damping: bool = False  # true when this is the fault/stop damping command


def damping_command(q: np.ndarray, dq: np.ndarray, limits: SafetyLimits) -> Command:
    """Zero stiffness, joint damping only: the safe state on any fault. Targets are the
    measured angles clipped into range; the damping gain is lowered on joints moving so
    fast that it would exceed the motor's effort limit (finite even on bad input)."""
    n = g1.NUM_JOINTS
    q = np.where(np.isfinite(q), q, 0.0) if np.shape(q) == (n,) else np.zeros(n)
    dq = np.where(np.isfinite(dq), np.abs(dq), 0.0) if np.shape(dq) == (n,) else np.zeros(n)
    kd = np.minimum(limits.damping_kd, g1.EFFORT_LIMIT / np.maximum(dq, 1e-12)) * (1.0 - 1e-9)
    return Command(
        q=np.clip(q, limits.lower, limits.upper),
        kp=np.zeros(n),
        kd=kd,
        dq=np.zeros(n),
        tau=np.zeros(n),
        damping=True,
    )


def filter_command(
    q_des: np.ndarray,
    kp: np.ndarray,
    kd: np.ndarray,
    q: np.ndarray,
    dq: np.ndarray,
    previous: np.ndarray | None,
    limits: SafetyLimits,
) -> Command:
    """Make a PD command safe (see module doc). ``previous``: the last sent targets."""
    arrays = (q_des, kp, kd, q, dq) + (() if previous is None else (previous,))
    if any(np.shape(a) != (g1.NUM_JOINTS,) for a in arrays):
        return damping_command(q, dq, limits)
    if not all(np.all(np.isfinite(a)) for a in arrays):
        return damping_command(q, dq, limits)
    ref = safe_targets(previous if previous is not None else q)
    target = ramped(safe_targets(q_des), ref, COMMAND_PERIOD)
    kp = np.clip(kp, 0.0, limits.max_kp)
    kd = np.clip(kd, 0.0, limits.max_kd)
    effort = g1.EFFORT_LIMIT
    with np.errstate(over="ignore"):  # absurd (finite) speeds give inf torque: gain -> 0
        tau_d = np.abs(kd * dq)
        # Damping alone over the limit: scale kd to the limit and drop the stiffness.
        over = tau_d > effort
        kd = np.where(over, kd * effort / np.maximum(tau_d, 1e-12), kd)
        budget = np.where(over, 0.0, effort - tau_d)
        tau_p = np.abs(kp * (target - q))
        kp = np.where(tau_p > budget, kp * budget / np.maximum(tau_p, 1e-12), kp)
    # Rounding can leave a few 1e-16 over: shave a hair to keep the bound strict.
    kp = kp * (1.0 - 1e-9)
    kd = kd * (1.0 - 1e-9)
    n = g1.NUM_JOINTS
    return Command(q=target, kp=kp, kd=kd, dq=np.zeros(n), tau=np.zeros(n))


def torque_estimate(cmd: Command, q: np.ndarray, dq: np.ndarray) -> np.ndarray:
    return cmd.kp * (cmd.q - q) + cmd.kd * (cmd.dq - dq) + cmd.tau
