"""Sim2sim's judgement of a recorded run (``contract.judge``): the clip's own poses
succeed; a box left on the floor, a fall, a run that stops early do not."""

import numpy as np
import pytest

from contract.judge import judge_recording
from contract.reference import ReferenceMotions
from contract.state import StateIndex
from robots import g1
from robots.clip import MotionClip
from robots.objects import ObjectSpec
from robots.scene import build_scene

HZ = 50.0
ONLY = np.zeros(1, int)


@pytest.fixture(scope="module")
def lift():
    """The robot standing, a box 0.7 m ahead lifted by 0.6 m in the middle of 1 s."""
    frames = 50
    box = ObjectSpec("box", "box", (0.3, 0.3, 0.3), mass=1.0)
    object_pos = np.tile([0.7, 0.0, 0.15], (frames, 1))
    object_pos[15:35, 2] += 0.6
    clip = MotionClip(
        fps=HZ, root_pos=np.tile([0.0, 0.0, g1.DEFAULT_ROOT_HEIGHT], (frames, 1)),
        root_quat=np.tile([1.0, 0, 0, 0], (frames, 1)),
        joint_pos=np.tile(g1.DEFAULT_POS, (frames, 1)), object_pos=object_pos,
        object_quat=np.tile([1.0, 0, 0, 0], (frames, 1)), object=box,
        contact=np.zeros((frames, 5), np.uint8), source={},
    )  # fmt: skip
    model = build_scene([box]).compile()
    refs = ReferenceMotions([clip], HZ)
    index = StateIndex(model, box.name)
    qpos = np.zeros((frames, model.nq))
    for f in range(frames):
        index.write(qpos[f : f + 1], np.zeros((1, model.nv)), refs.state(ONLY, np.array([f]))[0])
    times = np.arange(frames) / HZ + 0.004  # sampled a little after each frame starts
    return model, clip, times, qpos


def test_the_clips_own_poses_succeed(lift):
    model, clip, times, qpos = lift
    out = judge_recording(model, clip, HZ, times, qpos)
    assert out["success"] and out["terminations"] == {} and out["E_o_cm"] < 1e-6


def test_a_box_left_on_the_floor_is_an_object_deviation(lift):
    model, clip, times, qpos = lift
    floor = qpos.copy()
    floor[:, -7:-4] = qpos[0, -7:-4]
    out = judge_recording(model, clip, HZ, times, floor)
    assert not out["success"] and out["terminations"] == {"object_deviation": 1}


def test_a_fall_and_a_run_cut_short_fail(lift):
    model, clip, times, qpos = lift
    fallen = qpos.copy()
    fallen[25:, 2] = 0.2  # the pelvis down
    assert judge_recording(model, clip, HZ, times, fallen)["terminations"] == {"fall": 1}
    out = judge_recording(model, clip, HZ, times[:30], qpos[:30])  # the recording stops
    assert not out["success"] and out["mean_survival_s"] == pytest.approx(30 / HZ)
