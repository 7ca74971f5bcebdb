"""Policy inference on a thread of its own, watched by the command loop.

The command loop must keep answering LowStates whatever inference does: a slow step (a
heavy network, a loaded CPU) or a hung onnxruntime call must end in damping on time,
not stop the commands. Steps run one at a time on a worker thread (onnxruntime releases
the GIL while it computes); the loop submits a step, polls for its result every cycle,
and reports a fault when a step has run longer than its budget or raised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np


class InferenceWorker:
    """Runs ``step(*args) -> np.ndarray`` on a daemon thread, one step at a time."""

    def __init__(self, step: Callable[..., np.ndarray], budget: float):
        self.step, self.budget = step, budget
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._job: tuple | None = None
        self._started = 0.0  # when the running step was submitted
        self._busy = False
        self._result: tuple[int, np.ndarray | None, BaseException | None] | None = None
        self._generation = 0  # steps submitted before discard() are dropped
        threading.Thread(target=self._serve, name="inference", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                generation, args = self._job
            try:
                out, error = self.step(*args), None
            except Exception as e:  # reported to the loop, which damps
                out, error = None, e
            with self._lock:
                self._result, self._busy = (generation, out, error), False

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy

    def submit(self, *args, now: float | None = None) -> bool:
        """Start a step unless one is running (then False)."""
        with self._lock:
            if self._busy:
                return False
            self._job, self._busy = (self._generation, args), True
            self._started = time.perf_counter() if now is None else now
        self._wake.set()
        return True

    def discard(self) -> None:
        """Drop the result of any step submitted so far (the state it was for is gone)."""
        with self._lock:
            self._generation += 1
            self._result = None

    def poll(self, now: float | None = None) -> tuple[np.ndarray | None, str | None]:
        """(output of a finished step or None, fault reason or None)."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            result, self._result = self._result, None
            late = self._busy and now - self._started > self.budget
            started, generation = self._started, self._generation
        if late:
            ms = (now - started) * 1000
            return None, f"policy step over budget ({ms:.0f} ms > {self.budget * 1000:.0f} ms)"
        if result is None or result[0] != generation:
            return None, None
        _, out, error = result
        if error is not None:
            return None, f"policy error: {type(error).__name__}: {error}"
        return out, None
