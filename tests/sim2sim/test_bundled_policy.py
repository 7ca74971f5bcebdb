"""The bundled Stage 1 policy (the README's main job) still matches the code's contract."""

from pathlib import Path

import numpy as np

from retarget.pipeline import retarget
from retarget.synthetic import synthetic_motion
from sim2sim.harness import Sim2Sim
from sim2sim.policy import Policy

BUNDLED = Path(__file__).resolve().parents[2] / "sim2sim" / "policies" / "stage1_synthetic.onnx"


def test_bundled_policy_loads_and_steps():
    policy = Policy.load(BUNDLED)  # refuses a stale observation contract
    sim = Sim2Sim(policy, retarget(synthetic_motion()).clip)
    sim.reset(0)
    info = sim.step()
    assert np.isfinite(info["max_torque"])
    assert sim.episode()["survival_s"] > 0.2
