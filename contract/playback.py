"""Reference playback controls: how fast the policy's reference clip advances and
jumps through it. The goal keys of the Stage 1 expert (it takes no other goals), shared
by the sim2sim viewer (``sim2sim/teleop.py``) and the robot node's terminal
(``deploy/g1_node.py``) so the same keys do the same thing in both. numpy-free."""

from __future__ import annotations

SPEED_STEP = 0.25
MAX_SPEED = 2.0
JUMP_SECONDS = 1.0

KEYS_HELP = "+/- playback faster/slower (0-2x) | ] / [ jump the reference 1 s forward/back"


def faster(speed: float) -> float:
    return min(MAX_SPEED, speed + SPEED_STEP)


def slower(speed: float) -> float:
    return max(0.0, speed - SPEED_STEP)


def jumped(frame: float, direction: int, control_hz: float, length: int) -> float:
    """``frame`` moved ``direction`` (+1/-1) jumps, kept inside the clip's frames."""
    return min(max(frame + direction * JUMP_SECONDS * control_hz, 0.0), float(length - 1))
