"""The inference worker: results arrive, failures and late steps are reported, and the
caller is never blocked by a slow or hung step."""

import threading
import time

import numpy as np
import pytest

from deploy.inference import InferenceWorker


def wait_for(worker: InferenceWorker, timeout: float = 5.0):
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        out, reason = worker.poll(now=0.0)  # now=0: never late, only results
        if out is not None or reason is not None:
            return out, reason
        time.sleep(0.001)
    raise AssertionError("no result")


def test_a_step_returns_its_output():
    worker = InferenceWorker(lambda x: np.full(3, x), budget=1.0)
    assert worker.submit(2.0)
    out, reason = wait_for(worker)
    assert reason is None and np.array_equal(out, [2.0, 2.0, 2.0])
    assert worker.poll() == (None, None)  # taken once


def test_an_exception_is_a_fault_reason():
    def broken(_):
        raise ValueError("policy output is not finite")

    worker = InferenceWorker(broken, budget=1.0)
    worker.submit(0)
    out, reason = wait_for(worker)
    assert out is None and reason == "policy error: ValueError: policy output is not finite"


def test_a_hung_step_is_late_and_does_not_block_the_caller():
    release = threading.Event()
    worker = InferenceWorker(lambda _: release.wait(), budget=0.02)
    start = time.perf_counter()
    worker.submit(0, now=start)
    assert not worker.submit(1)  # one step at a time
    assert worker.poll(now=start + 0.01) == (None, None)
    out, reason = worker.poll(now=start + 0.025)
    assert out is None and reason == "policy step over budget (25 ms > 20 ms)"
    assert time.perf_counter() - start < 0.5  # polling never waited on the step
    release.set()


@pytest.mark.parametrize("after", [0.014, 0.016])
def test_a_step_is_late_exactly_when_it_runs_past_its_budget(after):
    """Lateness is the caller's clock since the step was submitted, whatever the load
    does to the threads: still running 14 ms after submission is in time, 16 ms is
    over a 15 ms budget."""
    release = threading.Event()
    worker = InferenceWorker(lambda _: release.wait() and np.zeros(1), budget=0.015)
    start = 100.0
    worker.submit(0, now=start)
    _, reason = worker.poll(now=start + after)
    assert (reason is not None) == (after > 0.015)
    release.set()
    out, reason = wait_for(worker)
    assert reason is None and np.array_equal(out, [0.0])


def test_a_discarded_step_gives_no_result():
    release = threading.Event()
    worker = InferenceWorker(lambda _: release.wait() and np.ones(1), budget=10.0)
    worker.submit(0)
    worker.discard()  # e.g. policy mode left and entered again
    release.set()
    while worker.busy:
        time.sleep(0.001)
    assert worker.poll() == (None, None)
