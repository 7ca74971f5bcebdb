"""The node's loop timing: fixed memory for any session length, percentiles, the trace."""

import numpy as np

from deploy.timing import LoopTiming


def test_buffers_stay_fixed_and_keep_the_latest_window(tmp_path):
    timing = LoopTiming(period=0.002, window=100)
    buffers = (timing.periods, timing.latencies)
    for i in range(250):
        timing.add_period(0.002 + (0.001 if i >= 150 else 0.0))  # the last 100: 1 ms late
        timing.add_latency(i * 1e-6)
    assert timing.periods is buffers[0] and timing.latencies is buffers[1]
    assert len(timing.periods) == 100
    summary = timing.summary()
    assert summary["cycles"] == 250
    assert summary["jitter_p50_ms"] == summary["jitter_p99_ms"] == 1.0  # only the window
    timing.save(tmp_path / "trace.npz")
    trace = np.load(tmp_path / "trace.npz")
    np.testing.assert_allclose(trace["lat"], np.arange(150, 250) * 1e-6)  # oldest first


def test_short_and_empty_sessions():
    timing = LoopTiming(period=0.002, window=100)
    assert timing.summary()["latency_p50_ms"] is None
    timing.add_latency(0.0005)
    assert timing.summary()["latency_p99_ms"] == 0.5
