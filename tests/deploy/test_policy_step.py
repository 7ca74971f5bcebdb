"""The node and the sim2sim harness run one policy step the same way: fed the same
robot state they build the same observation and set the same joint targets."""

import time
from pathlib import Path

import numpy as np
import pytest

from contract.actions import safe_targets
from contract.estimator import estimate_state
from contract.policy import Policy
from contract.sensors import SensorNoise
from contract.tracker import OBJECT, TrackerSettings
from deploy.g1_node import Args, G1Node
from retarget.pipeline import retarget
from retarget.synthetic import LIFT_IN_PLACE, synthetic_motion
from sim2sim.harness import Sim2Sim, Sim2SimSettings

POLICY = Path(__file__).resolve().parents[2] / "sim2sim" / "policies" / "stage1_lift.onnx"
# Both start at the frame; the tracker sees the object (a perfect one, on time) and not
# the pelvis: its position comes from the reference, its velocity from leg odometry.
QUIET = Sim2SimSettings(noise=SensorNoise(0.0, 0.0, 0.0), start="clip", sensing="object-tracker",
                        tracker=TrackerSettings(latency=0.0, noise=0.0))  # fmt: skip


@pytest.fixture(scope="module")
def lift_clip(tmp_path_factory):
    return retarget(synthetic_motion(LIFT_IN_PLACE)).clip.save(
        tmp_path_factory.mktemp("step") / "lift.npz"
    )


def sensors(state):
    """What a LowState carries of a state: joints, IMU orientation and gyro."""
    return state.joint_pos[0], state.joint_vel[0], state.root_quat[0], state.root_ang_vel[0]


@pytest.mark.parametrize("frame", [0, 40, 75])
def test_node_and_harness_step_alike(lift_clip, tmp_path, frame):
    from robots.clip import load_clip

    sim = Sim2Sim(Policy.load(POLICY), load_clip(lift_clip), QUIET)
    sim.reset(frame)  # the simulated state is the reference's at this frame
    state = sim.index.from_mjdata(sim.data)
    node = G1Node(Args(policy=POLICY, motion=lift_clip, net="lo", log=tmp_path / "s.jsonl",
                       tracker=True, tracker_latency=0.0))  # fmt: skip
    node.runner.reset(float(frame))
    seen = (state.object_pos[0], state.object_quat[0])  # the capture the harness has too
    node.tracked[OBJECT].add(-1.0, *seen, time.perf_counter())

    estimated = estimate_state(*sensors(state), node.runner.reference()[0],
                               node.tracked[OBJECT].pose(time.perf_counter()))  # fmt: skip
    np.testing.assert_allclose(
        node.runner.observation(estimated), sim.observation(), rtol=1e-5, atol=1e-5
    )
    targets = safe_targets(node.runner.advance(node.infer(*sensors(state)), 1.0))  # as sent
    sim.step()
    np.testing.assert_allclose(targets, sim.targets, atol=1e-5)
    assert node.runner.frame == sim.frame == frame + 1
    # A trained policy: its targets are not the reference pose it starts from.
    assert np.abs(targets - state.joint_pos[0]).max() > 1e-3
