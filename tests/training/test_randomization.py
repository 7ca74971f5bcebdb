"""Every randomized factor, read back from what the simulation did with it: the friction
of the contacts themselves, the forces the motors and joints produced, the weight the
free joint carries, the delay and noise the policy saw."""

from dataclasses import fields, replace
from pathlib import Path

import mujoco
import numpy as np
import pytest

from contract.leg_odometry import pelvis_velocity_of
from contract.sensors import SensorNoise
from contract.state import HoiState
from robots.clip import load_clip
from training.env import EnvConfig, HoiEnv
from training.randomization import RandomizationConfig
from training.tracker_delay import FIT_POSITION, FIT_VELOCITY

CLIP = Path(__file__).resolve().parents[2] / "sim2sim/policies/stage1_lift_clip.npz"
QUIET = RandomizationConfig(sensor_noise=SensorNoise(0.0, 0.0, 0.0), push_robot_velocity=0.0,
                            push_object_velocity=0.0, joint_pos_noise=0.0,
                            joint_vel_noise=0.0)  # fmt: skip
N = 4
HELD = 64  # a frame of the clip where both hand capsules press on the box


@pytest.fixture(scope="module")
def holding():
    """Simulations drawn apart, started where the clip holds the box in both hands, the
    feet pressed 3 mm into the floor, moving: each simulation's own model and state,
    every derived quantity computed (contacts, forces)."""
    clip = load_clip(CLIP)
    env = HoiEnv([clip], EnvConfig(num_envs=N, num_threads=1, psi_prob=0.0,
                                   action_base="reference", randomization=QUIET))  # fmt: skip
    frame = round(HELD * 50 / clip.fps)
    env.reset_to(np.arange(N), np.zeros(N, int), np.full(N, frame))
    sims, rng = [], np.random.default_rng(0)
    for i in range(N):
        model, data = env.backend.batch.get_model(i), env.backend.batch.get_data(i)
        data.qpos[2] -= 0.003
        data.qvel[:] = rng.normal(scale=0.5, size=model.nv)
        mujoco.mj_forward(model, data)
        sims.append((model, data))
    return env, sims


def contacts(model, data, kind):
    """The friction of each contact of one kind: hand-object, foot-floor, object-floor."""
    out = []
    for c in data.contact[: data.ncon]:
        names = {model.geom(g).name for g in (c.geom1, c.geom2)}
        box = "box_geom" in names
        if kind == "hand" and box and any("hand" in n or "wrist" in n for n in names):
            out.append(c.friction[0])
        if kind == "foot" and "floor" in names and any("foot" in n for n in names):
            out.append(c.friction[0])
        if kind == "object-floor" and box and "floor" in names:
            out.append(c.friction[0])
    return np.array(out)


def test_the_drawn_object_and_floor_friction_are_the_contacts_own(holding):
    env, sims = holding
    rc = env.cfg.randomization
    fields = env.randomizer.f
    obj = env.randomizer.obj_geoms[0]
    foot = env.randomizer.foot_geoms[0]
    drawn_object = fields["geom_friction"][:, obj, 0]
    drawn_floor = fields["geom_friction"][:, foot, 0]
    assert len(set(drawn_object)) == N and len(set(drawn_floor)) == N
    assert all(rc.object_friction[0] <= f <= rc.object_friction[1] for f in drawn_object)
    for i, (model, data) in enumerate(sims):
        hands, feet = contacts(model, data, "hand"), contacts(model, data, "foot")
        assert len(hands) and len(feet)
        np.testing.assert_allclose(hands, drawn_object[i])  # below the robot's 1.0 too
        np.testing.assert_allclose(feet, drawn_floor[i])
    # The box on the floor: the pair carries the floor's friction, not the box's.
    env.reset_to(np.arange(N), np.zeros(N, int), np.zeros(N, int))
    for i in range(N):
        model, data = env.backend.batch.get_model(i), env.backend.batch.get_data(i)
        data.qpos[env.index.obj_q + 2] -= 0.003
        mujoco.mj_forward(model, data)
        floor = contacts(model, data, "object-floor")
        assert len(floor)
        np.testing.assert_allclose(floor, drawn_floor[i])


def test_the_motors_produce_the_drawn_gains_and_torque_limits(holding):
    env, sims = holding
    for model, data in sims:
        q, v = data.qpos[7:36], data.qvel[6:35]
        kp, kd = model.actuator_gainprm[:, 0], -model.actuator_biasprm[:, 2]
        limit = model.actuator_forcerange[:, 1]
        np.testing.assert_allclose(data.actuator_force,
                                   np.clip(kp * (data.ctrl - q) - kd * v, -limit, limit),
                                   rtol=1e-9, atol=1e-9)  # fmt: skip
    kps = np.array([m.actuator_gainprm[:, 0] for m, _ in sims])
    limits = np.array([m.actuator_forcerange[:, 1] for m, _ in sims])
    base_kp, base_limit = env.model.actuator_gainprm[:, 0], env.model.actuator_forcerange[:, 1]
    rc = env.cfg.randomization
    assert np.all((kps >= rc.gain_scale[0] * base_kp - 1e-9)
                  & (kps <= rc.gain_scale[1] * base_kp + 1e-9))  # fmt: skip
    assert np.all((limits >= rc.effort_scale[0] * base_limit - 1e-9) & (limits <= base_limit))
    assert np.ptp(kps / base_kp, axis=0).min() > 0  # each joint its own draw


def test_a_robot_wide_kp_draw_scales_every_motor_of_a_simulation_alike():
    rc = replace(QUIET, gain_scale=(1.0, 1.0), kp_common=(0.85, 1.15))
    env = HoiEnv([load_clip(CLIP)], EnvConfig(num_envs=N, num_threads=1, randomization=rc))
    base = env.model.actuator_gainprm[:, 0]
    scale = np.array([env.backend.batch.get_model(i).actuator_gainprm[:, 0] / base
                      for i in range(N)])  # fmt: skip
    np.testing.assert_allclose(scale, scale[:, :1].repeat(scale.shape[1], axis=1), rtol=1e-12)
    assert len(set(scale[:, 0].round(9))) == N and np.all(np.abs(scale - 1) <= 0.15 + 1e-12)
    np.testing.assert_allclose(env.randomizer.drawn()["gain_scale"], scale[:, 0])


def test_joint_damping_and_friction_loss_act_in_the_step(holding):
    _, sims = holding
    for model, data in sims:
        dofs = np.arange(6, 35)
        np.testing.assert_allclose(data.qfrc_damper[dofs],
                                   -model.dof_damping[dofs] * data.qvel[dofs])  # fmt: skip
        friction = data.efc_type[: data.nefc] == mujoco.mjtConstraint.mjCNSTR_FRICTION_DOF
        rows = data.efc_id[: data.nefc][friction]
        np.testing.assert_allclose(data.efc_frictionloss[: data.nefc][friction],
                                   model.dof_frictionloss[rows])  # fmt: skip
        assert friction.sum() == 29 and model.dof_damping[dofs].min() >= 0
    damping = np.array([m.dof_damping[6:35] for m, _ in sims])
    assert len(np.unique(damping.round(9))) > 29


def test_the_free_joint_carries_the_drawn_masses(holding):
    env, sims = holding
    torso = env.model.body("torso_link").id
    masses = [m.body_mass[1 : env.randomizer.obj].sum() for m, _ in sims]
    assert len(set(np.round(masses, 9))) == N
    for (model, _), mass in zip(sims, masses, strict=True):
        data = mujoco.MjData(model)  # at rest in the air: gravity alone on the free joint
        mujoco.mj_forward(model, data)
        np.testing.assert_allclose(data.qfrc_bias[2], mass * 9.81, rtol=1e-6)
        added = model.body_mass[torso] - env.model.body_mass[torso] * (
            model.body_inertia[torso, 0] / env.model.body_inertia[torso, 0]
        )
        lo, hi = env.cfg.randomization.torso_added_mass
        assert lo - 1e-9 <= added <= hi + 1e-9


@pytest.mark.parametrize("body", ["object", "robot"])
def test_the_object_and_the_robot_start_shifted_where_the_hands_are_off_it(body):
    from robots import quat

    clip = load_clip(CLIP)
    shifted = replace(QUIET, **{f"{body}_start_offset": 0.05, f"{body}_start_yaw": 0.2})
    env = HoiEnv([clip], EnvConfig(num_envs=8, num_threads=1, psi_prob=0.0,
                                   randomization=shifted))  # fmt: skip
    held = round(HELD * 50 / clip.fps)
    pos, rot = ("object_pos", "object_quat") if body == "object" else ("root_pos", "root_quat")
    other = "root_pos" if body == "object" else "object_pos"
    for frame, moved in ((0, True), (held, False)):
        env.reset_to(np.arange(8), np.zeros(8, int), np.full(8, frame))
        ref, _ = env.refs.state(np.zeros(8, int), np.full(8, frame))
        start = env.index.from_backend(env.backend)
        offset = getattr(start, pos)[:, :2] - getattr(ref, pos)[:, :2]
        turn = quat.yaw(getattr(start, rot)) - quat.yaw(getattr(ref, rot))
        np.testing.assert_allclose(getattr(start, other)[:, :2], getattr(ref, other)[:, :2],
                                   atol=1e-12)  # fmt: skip
        if moved:
            assert np.abs(offset).max() <= 0.05 + 1e-9 and np.abs(offset).min() > 0
            assert len(np.unique(offset.round(6))) == 16
            assert np.abs(turn).max() <= 0.2 + 1e-9 and np.abs(turn).min() > 0
        else:
            np.testing.assert_allclose(offset, 0.0, atol=1e-12)


def test_training_sees_the_pelvis_velocity_the_nodes_leg_odometry_measures(holding):
    from contract.leg_odometry import pelvis_velocity

    env, _ = holding
    legs = replace(env.cfg, randomization=replace(QUIET, leg_odometry=True))
    env = HoiEnv([load_clip(CLIP)], replace(legs, num_envs=6, seed=2))
    qvel = env.backend.field("qvel")
    qvel[:] = np.random.default_rng(0).normal(scale=0.5, size=qvel.shape)
    env.backend.forward()
    state = env.index.from_backend(env.backend)
    seen = env.measured(state).root_lin_vel
    for i in range(6):
        one = [x[i : i + 1] for x in (state.root_quat, state.joint_pos, state.joint_vel)]
        node = pelvis_velocity(*one, state.root_ang_vel[i : i + 1])
        np.testing.assert_allclose(seen[i], node[0], atol=1e-5)
    assert np.abs(seen - state.root_lin_vel).min(axis=1).max() > 0.05  # not the truth


def test_tracker_noise_is_what_the_nodes_line_fit_leaves(holding):
    from training.random_source import make_random
    from training.tracker_delay import TrackerDelay

    env, _ = holding
    n = 4000
    delay = TrackerDelay(n, 0, 50.0, pelvis=True, rng=make_random(0, np.zeros(1)))
    delay.restart(np.arange(n), np.zeros(n, int), np.full(n, 0.01))
    state = env.index.from_backend(env.backend)
    many = HoiState(**{f.name: np.repeat(getattr(state, f.name)[:1], n, axis=0)
                       for f in fields(HoiState)})  # fmt: skip
    # at rest, as the fresh history has it (its velocities are the window's mean)
    resting = ("object_lin_vel", "object_ang_vel", "root_lin_vel")
    many = replace(many, **{f: np.zeros((n, 3)) for f in resting})
    seen = delay.observe(many)
    pos_err = seen.object_pos - many.object_pos
    vel_err = seen.object_lin_vel - many.object_lin_vel
    assert np.std(pos_err) == pytest.approx(0.01 * FIT_POSITION, rel=0.05)
    assert np.std(vel_err) == pytest.approx(0.01 * FIT_VELOCITY, rel=0.05)
    # a tracked pelvis's position the same, independently; its velocity is leg odometry's
    root_err = seen.root_pos - many.root_pos
    assert np.std(root_err) == pytest.approx(0.01 * FIT_POSITION, rel=0.05)
    assert abs(np.corrcoef(root_err[:, 0], pos_err[:, 0])[0, 1]) < 0.1
    np.testing.assert_allclose(seen.root_lin_vel, pelvis_velocity_of(many), atol=1e-12)


def test_a_due_push_changes_the_simulated_velocities_by_its_draw():
    """Pushes land in the physics: the pelvis and object velocities the simulation then
    steps from differ from a twin run without pushes by at most the configured impulse,
    only in the simulations whose push was due."""
    clip = load_clip(CLIP)

    def pushed(robot: float, obj: float):
        rc = replace(QUIET, model=False, push_robot_velocity=robot, push_object_velocity=obj)
        env = HoiEnv([clip], EnvConfig(num_envs=N, num_threads=1, psi_prob=0.0,
                                       action_base="reference", randomization=rc))  # fmt: skip
        env.reset_to(np.arange(N), np.zeros(N, int), np.full(N, 40))
        env.next_push[:] = [1.0, 1.0, 5.0, 5.0]  # due at the next step in the first two
        env.step(np.zeros((N, 29)))
        ix = env.index
        qvel = env.backend.field("qvel")
        return qvel[:, ix.root_v : ix.root_v + 2].copy(), qvel[:, ix.obj_v : ix.obj_v + 2].copy()

    (robot, obj), (robot0, obj0) = pushed(0.5, 0.3), pushed(0.0, 0.0)
    kick_robot, kick_obj = robot - robot0, obj - obj0
    assert np.abs(kick_robot[:2]).max() > 0.05 and np.abs(kick_obj[:2]).max() > 0.03
    assert np.abs(kick_robot[2:]).max() < 1e-9 and np.abs(kick_obj[2:]).max() < 1e-9
    # a control period of physics after the impulse: within the draw, slowed by contact
    assert np.abs(kick_robot).max() < 0.5 + 0.05 and np.abs(kick_obj).max() < 0.3 + 0.05
