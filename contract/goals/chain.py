"""Goal chains for goal-conditioned policies: snapshot goals taken from the
clip, reached one after the other.

A goal sequence file is JSON, a list of goals (or ``{"goals": [...]}``)::

    [{"at": 0.3}, {"at": 0.6, "pattern": "contact", "seconds": 1.5, "hold": 0.5}]

- ``at``: where in the clip the goal frame is, 0 (first frame) to 1 (last);
- ``pattern``: its goal mask (``contract.goals.masks.PATTERNS``; default snapshot);
- ``seconds``: time given to reach it (default 1); ``hold``: time kept on it before the
  next goal starts (default 0.5).

Keyboards build chains too (sim2sim's teleop, the robot node): a digit switches to a new goal at
once (mid-trajectory command switching) or, in chain mode, appends it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from contract.goals.masks import pattern_mask


@dataclass(frozen=True)
class ChainGoal:
    at: float
    pattern: str = "snapshot"
    seconds: float = 1.0
    hold: float = 0.5

    def __post_init__(self):
        if not 0.0 <= self.at <= 1.0:
            raise ValueError(f"goal 'at' {self.at} is outside 0 ... 1 (share of the clip)")
        if not (self.seconds > 0 and self.hold >= 0):
            raise ValueError(
                f"goal times must be positive (seconds {self.seconds}, hold {self.hold})"
            )
        pattern_mask(self.pattern)  # unknown patterns fail here

    def frame(self, last: int) -> int:
        return round(self.at * last)


def load_chain(path: str | Path) -> list[ChainGoal]:
    """Read and check a goal sequence file; errors name the file and the goal."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"goal sequence file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    goals = data.get("goals") if isinstance(data, dict) else data
    if not isinstance(goals, list) or not goals:
        raise ValueError(f"{path}: expected a non-empty list of goals")
    chain = []
    for i, g in enumerate(goals):
        if not isinstance(g, dict):
            raise ValueError(f"{path}: goal {i} is not an object")
        unknown = set(g) - {"at", "pattern", "seconds", "hold"}
        if unknown or "at" not in g:
            raise ValueError(f"{path}: goal {i} needs 'at' and knows no {sorted(unknown)}")
        try:
            chain.append(ChainGoal(**g))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: goal {i}: {e}") from None
    return chain
