"""Sim2sim's judgement of an attempt at a clip, step by step at the policy's rate: the
tracking terminations (a fall, the object or the robot too far from the reference, a
hand the reference has on the object off it for too long) and the errors, into
``AttemptStats``. Sim2sim judges its episodes with it, and a run through the robot
node is judged the same way from its recorded poses (``judge_recording``), so that
"success" means one thing on both sides."""

from __future__ import annotations

import mujoco
import numpy as np

from contract.metrics import AttemptStats
from contract.observations import body_object_distance
from contract.reference import ONLY_CLIP, ReferenceMotions
from contract.state import HoiState, StateIndex
from contract.terminations import (
    TerminationConfig,
    count_contact_lost,
    hands_touching,
    tracking_causes,
)
from robots.clip import MotionClip
from robots.objects import convex_planes, surface_points


class StepJudge:
    """The termination causes of one attempt, step by step (it counts the frames a hand
    the reference has on the object has been off it)."""

    def __init__(self, clip: MotionClip, terminations: TerminationConfig):
        self.planes, self.terminations = convex_planes(clip.object), terminations
        self.lost = np.zeros((1, 2), int)

    def causes(self, state: HoiState, ref: HoiState, contact: np.ndarray) -> dict:
        dist, _ = body_object_distance(state, self.planes)
        self.lost = count_contact_lost(self.lost, hands_touching(dist), contact)
        return tracking_causes(state, ref, self.lost, self.terminations)


def judge_recording(
    model: mujoco.MjModel, clip: MotionClip, hz: float, times: np.ndarray, qpos: np.ndarray
) -> dict:
    """Sim2sim's judgement (``AttemptStats.summary`` of one attempt, and ``success``) of
    a run recorded as ``qpos`` rows of ``model`` at ``times`` s after the policy took
    over, the reference clock at ``hz`` from then on."""
    refs = ReferenceMotions([clip], hz)
    last = int(refs.lengths[0] - 1)
    data, index = mujoco.MjData(model), StateIndex(model, clip.object.name)
    judge = StepJudge(clip, TerminationConfig())
    stats = AttemptStats(1, surface_points(clip.object, 1024))
    frames = np.floor(np.asarray(times) * hz + 1e-9).astype(int)
    for frame in range(min(int(frames.max(initial=-1)), last) + 1):
        row = int(np.searchsorted(frames, frame))  # the first sample of this frame
        data.qpos[:] = qpos[row]
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        state = index.from_mjdata(data)
        ref, contact = refs.state(ONLY_CLIP, np.array([frame]))
        causes = judge.causes(state, ref, contact)
        terminated = np.logical_or.reduce(list(causes.values()))
        done = ~terminated & (frame == last)
        stats.record(terminated, done, {"state": state, "reference": ref, "causes": causes,
                                        "clip_end": done})  # fmt: skip
        if not stats.alive[0]:
            break
    return {**stats.summary(hz), "success": bool(stats.success[0] and not stats.fell[0])}
