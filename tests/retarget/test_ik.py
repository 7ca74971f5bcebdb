import numpy as np
import pink
import pinocchio as pin
from pink.tasks import FrameTask

from retarget.ik import FrameTarget, G1Ik, StackedFrameTask


def test_stacked_task_equals_pink_frame_tasks():
    """Position targets: one stacked task has the same QP objective as pink's FrameTasks.
    Pink linearizes the SE(3) log, which equals the plain position error to first order,
    so the comparison is made near the targets (10 um away)."""
    ik = G1Ik(damping=1e-3, posture_weight=0.0)
    rng = np.random.default_rng(0)
    q = ik.configuration.q.copy()
    q[ik.joint_q] += rng.uniform(-0.3, 0.3, len(ik.joint_q))
    conf = pink.Configuration(ik.model, ik.model.createData(), q)
    frames = {"pelvis": 3.0, "left_palm": 20.0, "right_knee_link": 1.5}
    stack = StackedFrameTask(ik.model)
    near = {
        f: conf.get_transform_frame_to_world(f).translation + rng.normal(size=3) * 1e-5
        for f in frames
    }
    stack.set_entries(
        [(ik.frame_id(f), FrameTarget(near[f], None, w), False) for f, w in frames.items()]
    )
    h, c = stack.compute_qp_objective(conf)
    h_ref, c_ref = np.zeros_like(h), np.zeros_like(c)
    for (_fid, t, _), (name, w) in zip(stack.entries, frames.items(), strict=True):
        task = FrameTask(name, position_cost=np.sqrt(w), orientation_cost=0.0)
        task.set_target(pin.SE3(conf.get_transform_frame_to_world(name).rotation, t.position))
        hh, cc = task.compute_qp_objective(conf)
        h_ref += hh
        c_ref += cc
    np.testing.assert_allclose(h, h_ref, atol=1e-4 * np.abs(h_ref).max())
    np.testing.assert_allclose(c, c_ref, atol=1e-2 * np.abs(c_ref).max())


def test_ik_reaches_reachable_targets():
    ik = G1Ik(damping=1e-6, posture_weight=0.0)
    start = ik.configuration.q.copy()
    goal = start.copy()
    goal[ik.joint_q[3]] += 0.4  # bend the left knee
    data = ik.model.createData()
    pin.framesForwardKinematics(ik.model, data, goal)
    names = ["pelvis", "left_ankle_roll_link", "right_ankle_roll_link", "left_knee_link"]
    targets = {
        n: FrameTarget(
            data.oMf[ik.frame_id(n)].translation.copy(),
            data.oMf[ik.frame_id(n)].rotation.copy(),
            10.0,
            1.0,
        )
        for n in names
    }
    q = ik.solve(targets, iterations=30, orientation_iterations=2, dt=1.0)
    pin.framesForwardKinematics(ik.model, data, q)
    for n, t in targets.items():
        assert np.linalg.norm(data.oMf[ik.frame_id(n)].translation - t.position) < 2e-3, n
