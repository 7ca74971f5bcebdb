"""The node and the sim2sim harness run one policy step the same way: fed the same
robot state they build the same observation and set the same joint targets."""

from pathlib import Path

import numpy as np
import pytest

from contract.policy import Policy
from contract.sensors import SensorNoise
from deploy.estimator import estimate_state
from deploy.g1_node import Args, G1Node
from retarget.pipeline import retarget
from retarget.synthetic import LIFT_IN_PLACE, synthetic_motion
from sim2sim.harness import Sim2Sim, Sim2SimSettings

POLICY = Path(__file__).resolve().parents[2] / "sim2sim" / "policies" / "stage1_lift.onnx"
# The node measures the pelvis velocity by leg odometry, as the harness does; both start
# at the frame and take the object from the reference here.
QUIET = Sim2SimSettings(noise=SensorNoise(0.0, 0.0, 0.0), start="clip", track_object=False)


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
                       object_from_reference=True))  # fmt: skip
    node.runner.reset(float(frame))

    estimated = estimate_state(*sensors(state), node.runner.reference()[0])
    np.testing.assert_allclose(
        node.runner.observation(estimated), sim.observation(), rtol=1e-5, atol=1e-5
    )
    targets = node.runner.advance(node.infer(*sensors(state)), 1.0)
    sim.step()
    np.testing.assert_allclose(targets, sim.targets, atol=1e-5)
    assert node.runner.frame == sim.frame == frame + 1
    # A trained policy: its targets are not the reference pose it starts from.
    assert np.abs(targets - state.joint_pos[0]).max() > 1e-3
