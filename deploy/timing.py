"""The control loop's own timing: loop periods and LowState-to-LowCmd latencies in
fixed-size ring buffers, allocated once, so that a session of any length uses the same
memory and the real-time loop never resizes a list."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.atomic import atomic_path


class LoopTiming:
    """The last ``window`` loop periods and latencies (s), and how many there were."""

    def __init__(self, period: float, window: int = 60_000):
        self.period = period
        self.periods = np.zeros(window)
        self.latencies = np.zeros(window)
        self.cycles = 0  # periods recorded over the whole session
        self.commands = 0  # latencies recorded over the whole session

    def add_period(self, seconds: float) -> None:
        self.periods[self.cycles % len(self.periods)] = seconds
        self.cycles += 1

    def add_latency(self, seconds: float) -> None:
        self.latencies[self.commands % len(self.latencies)] = seconds
        self.commands += 1

    def _recent(self, values: np.ndarray, count: int) -> np.ndarray:
        return values[: min(count, len(values))]

    def summary(self) -> dict:
        """Jitter (|period - nominal|) and latency percentiles in ms over the window."""

        def ms(values: np.ndarray, q: float) -> float | None:
            return round(float(np.percentile(values, q)) * 1000, 3) if len(values) else None

        jitter = np.abs(self._recent(self.periods, self.cycles) - self.period)
        latency = self._recent(self.latencies, self.commands)
        return {
            "cycles": self.cycles,
            "jitter_p50_ms": ms(jitter, 50), "jitter_p99_ms": ms(jitter, 99),
            "latency_p50_ms": ms(latency, 50), "latency_p99_ms": ms(latency, 99),
        }  # fmt: skip

    def save(self, path: Path) -> None:
        """The window's periods and latencies as ``.npz`` (``periods``, ``lat``), oldest
        first."""

        def ordered(values: np.ndarray, count: int) -> np.ndarray:
            if count <= len(values):
                return values[:count].copy()
            return np.roll(values, -(count % len(values)))

        with atomic_path(Path(path)) as tmp, open(tmp, "wb") as f:
            np.savez(f, periods=ordered(self.periods, self.cycles),
                     lat=ordered(self.latencies, self.commands))  # fmt: skip
