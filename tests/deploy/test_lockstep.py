"""The node stepped in lockstep with the virtual G1 (no DDS, simulated clock)."""

import numpy as np
import pytest

from deploy import lockstep
from deploy.g1_node import Mode
from deploy.hold_policy import write_hold_policy
from robots import g1
from robots.clip import MotionClip
from robots.objects import ObjectSpec

BOX = ObjectSpec("box", "box", (0.3, 0.3, 0.3), mass=1.0)


def standing_clip(frames: int = 20) -> MotionClip:
    """The robot standing, the box on the floor 0.6 m ahead."""
    return MotionClip(
        fps=50.0, root_pos=np.tile([0.0, 0.0, g1.DEFAULT_ROOT_HEIGHT], (frames, 1)),
        root_quat=np.tile([1.0, 0, 0, 0], (frames, 1)),
        joint_pos=np.tile(g1.DEFAULT_POS, (frames, 1)),
        object_pos=np.tile([0.6, 0.0, 0.15], (frames, 1)),
        object_quat=np.tile([1.0, 0, 0, 0], (frames, 1)), object=BOX,
        contact=np.zeros((frames, 5), np.uint8), source={},
    )  # fmt: skip


@pytest.fixture(scope="module")
def standing(tmp_path_factory):
    root = tmp_path_factory.mktemp("lockstep")
    clip = standing_clip().save(root / "clip.npz")
    return lockstep.Args(policy=write_hold_policy(root / "hold.onnx", BOX), motion=clip,
                         tail_seconds=0.2)  # fmt: skip


def test_a_session_runs_the_node_through_its_states_deterministically(standing):
    """Gantry, move, release, hold, policy, stop: the node's own state machine on the
    simulated clock, the same trace twice, the robot standing on its policy."""
    first, again = lockstep.run(standing), lockstep.run(standing)
    modes = list(dict.fromkeys(first["trace"]["mode"]))
    assert modes == [m.value for m in (Mode.MOVE, Mode.HOLD, Mode.POLICY, Mode.DAMPING)]
    assert not first["faults"] and first["success"] and first["pelvis_height_m"] > 0.7
    for key, values in first["trace"].items():
        assert np.array_equal(values, again["trace"][key]), key


def test_a_missing_file_or_no_sessions_is_one_line_of_error(standing, tmp_path):
    import subprocess
    import sys

    for extra in (("--policy", str(tmp_path / "none.onnx")), ("--sessions", "0")):
        args = ["--policy", str(standing.policy), "--motion", str(standing.motion), *extra]
        out = subprocess.run([sys.executable, "-m", "deploy.lockstep", *args],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert out.stderr.startswith("error: ")
