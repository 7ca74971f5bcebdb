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
    stack.set_targets([(ik.frame_id(f), FrameTarget(near[f], None, w)) for f, w in frames.items()])
    h, c = stack.compute_qp_objective(conf)
    h_ref, c_ref = np.zeros_like(h), np.zeros_like(c)
    for (_fid, t), (name, w) in zip(stack.targets, frames.items(), strict=True):
        task = FrameTask(name, position_cost=np.sqrt(w), orientation_cost=0.0)
        task.set_target(pin.SE3(conf.get_transform_frame_to_world(name).rotation, t.position))
        hh, cc = task.compute_qp_objective(conf)
        h_ref += hh
        c_ref += cc
    np.testing.assert_allclose(h, h_ref, atol=1e-4 * np.abs(h_ref).max())
    np.testing.assert_allclose(c, c_ref, atol=1e-2 * np.abs(c_ref).max())


def test_stacked_rows_are_the_derivative_of_their_errors():
    """Every kind of row (full orientation, axis alignment, position of a frame point):
    the Jacobian times a small step equals the change of the error, and the
    orientation-only stage is the orientation rows alone. Orientation rows use the
    angular Jacobian, the derivative of log(R R*^T) at R = R*: their targets are
    0.1 mrad away."""
    from scipy.spatial.transform import Rotation

    ik = G1Ik(damping=1e-3, posture_weight=0.0)
    rng = np.random.default_rng(3)
    q = ik.configuration.q.copy()
    q[ik.joint_q] += rng.uniform(-0.3, 0.3, len(ik.joint_q))
    q[3:7] = Rotation.random(random_state=4).as_quat()
    conf = pink.Configuration(ik.model, ik.model.createData(), q)

    def near(frame):
        turn = Rotation.from_rotvec(rng.normal(size=3) * 1e-4).as_matrix()
        return turn @ conf.get_transform_frame_to_world(frame).rotation

    targets = [
        ("pelvis", FrameTarget(rng.normal(size=3), near("pelvis"), 3.0, 2.0)),
        ("left_palm", FrameTarget(rng.normal(size=3), None, 20.0, 0.5,
                                  align=(1, rng.normal(size=3)))),
        ("right_wrist_yaw_link", FrameTarget(rng.normal(size=3), None, 5.0,
                                             point=rng.normal(size=3) * 0.1)),
        ("left_ankle_roll_link", FrameTarget(rng.normal(size=3), near("left_ankle_roll_link"),
                                             400.0, 4.0)),
        ("right_knee_link", FrameTarget(rng.normal(size=3), None, 0.0)),  # no rows
    ]  # fmt: skip
    stack = StackedFrameTask(ik.model)
    stack.set_targets([(ik.frame_id(n), t) for n, t in targets])
    assert repr(stack) == "StackedFrameTask(5 frames)"
    jac = stack.compute_jacobian(conf)
    err = stack.compute_error(conf)
    assert jac.shape == (3 * 7, ik.model.nv)
    dq = rng.normal(size=ik.model.nv) * 1e-6
    moved = pink.Configuration(ik.model, ik.model.createData(), pin.integrate(ik.model, q, dq))
    np.testing.assert_allclose(stack.compute_error(moved) - err, jac @ dq, atol=1e-9)
    stack.orientation_only = True
    assert np.array_equal(stack.compute_error(conf), err[:9])


def test_compiled_log3_equals_pinocchio():
    from scipy.spatial.transform import Rotation

    from retarget.frame_rows import log3

    vectors = np.concatenate([
        Rotation.random(200, random_state=0).as_rotvec(),
        [[0, 0, 0], [1e-7, 0, 0], [0, np.pi - 1e-5, 0], [0, 0, np.pi - 2e-3], [-2.0, 2.0, -2.0]],
    ])  # fmt: skip
    for v in vectors:
        r = Rotation.from_rotvec(v).as_matrix()
        np.testing.assert_allclose(log3(r), pin.log3(r), atol=1e-9)
    half = Rotation.from_rotvec([np.pi, 0, 0]).as_matrix()  # either sign is the log
    assert np.allclose(np.abs(log3(half)), [np.pi, 0, 0])


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


def test_smoothness_slows_a_jump_in_the_solve():
    """A palm target 36 cm away in one frame: the speed cost (per motor limit) slows the
    arm's fastest joint more the larger its weight."""
    from robots import g1

    fps = 30.0
    steps = {}
    for weight in (0.0, 1.0, 10.0):
        ik = G1Ik(damping=1e-3, posture_weight=0.0, velocity_weight=weight)
        q0 = ik.configuration.q.copy()
        ik.smoothness.set_previous(q0, fps)
        palm = ik.configuration.get_transform_frame_to_world("left_palm").translation
        pelvis = ik.configuration.get_transform_frame_to_world("pelvis")
        target = {
            "left_palm": FrameTarget(palm + np.array([0.3, 0.0, 0.2]), None, 20.0),
            "pelvis": FrameTarget(pelvis.translation, pelvis.rotation, 1e3, 1e3),
        }
        q = ik.solve(target, iterations=3, orientation_iterations=0, dt=1 / fps / 3)
        steps[weight] = np.abs(q[ik.joint_q] - q0[ik.joint_q]) * fps / g1.VELOCITY_LIMIT
    assert steps[0.0].max() > 0.4  # a fast move: half the motor limit in one frame
    assert steps[0.0].max() > steps[1.0].max() > steps[10.0].max() > 0.0
    assert steps[10.0].max() < 0.5 * steps[0.0].max()


def test_smoothness_is_off_without_a_previous_frame():
    ik = G1Ik(damping=1e-3, posture_weight=0.0, velocity_weight=1.0)
    ik.smoothness.set_previous(None)
    h, c = ik.smoothness.compute_qp_objective(ik.configuration)
    assert not h.any() and not c.any()
    assert ik.smoothness.compute_jacobian(ik.configuration).shape == (0, ik.model.nv)


def test_direct_qp_step_equals_pink_solve_ik():
    """The QP handed to DAQP is pink's: same step as ``pink.solve_ik`` with the same tasks
    and limits, from a configuration with a joint beyond its limit."""
    import daqp

    ik = G1Ik(damping=1e-3, posture_weight=0.02, velocity_weight=0.1)
    rng = np.random.default_rng(1)
    q = ik.configuration.q.copy()
    q[ik.joint_q] += rng.uniform(-0.3, 0.3, len(ik.joint_q))
    ik.configuration.update(q)
    ik.smoothness.set_previous(q + 0.01, 30.0)
    names = ["pelvis", "left_palm", "right_knee_link", "left_ankle_roll_link"]
    where = {n: ik.configuration.get_transform_frame_to_world(n).translation for n in names}
    targets = {n: FrameTarget(p + rng.normal(size=3) * 0.05, np.eye(3), 10.0, 1.0)
               for n, p in where.items()}  # fmt: skip
    ik.stack.set_targets([(ik.frame_id(n), t) for n, t in targets.items()])
    dt = 0.01
    v = pink.solve_ik(ik.configuration, [ik.stack, ik.posture, ik.smoothness], dt,
                      solver="daqp", damping=ik.damping, limits=ik.limits,
                      safety_break=False)  # fmt: skip
    hessian, c, lower, upper = ik.qp(dt)
    dq, *_ = daqp.solve(hessian, c, np.zeros((0, ik.model.nv)), upper, lower)
    np.testing.assert_allclose(dq, v * dt, atol=1e-10)
    assert np.abs(dq).max() > 0.05  # a real step, not a trivial one
