from dataclasses import replace

import mujoco
import numpy as np
import pytest

from contract.actions import MAX_TARGET_RATE, safe_targets
from contract.observations import ObsInputs, build_observation, term_slice
from robots import g1
from robots.g1.mjcf import SimOptions
from training.env import EnvConfig, HoiEnv
from training.randomization import RandomizationConfig

EXACT = dict(randomization=RandomizationConfig(enabled=False), psi_prob=0.0)


@pytest.fixture(scope="module")
def env(clip):
    """No randomization and no PSI: resets land exactly on the reference."""
    return HoiEnv([clip], EnvConfig(num_envs=6, num_threads=2, seed=1, **EXACT))


def test_steps_and_resets(env):
    obs = env.observation()
    assert obs.shape == (6, 498) and obs.dtype == np.float32
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs, reward, terminated, _, info = env.step(rng.normal(scale=0.2, size=(6, 29)))
        assert np.all(np.isfinite(obs)) and np.all(np.isfinite(reward))
        assert reward.shape == terminated.shape == (6,)
        assert set(info["terms"]) >= {"body_pos", "object_pos", "contact", "grasp", "energy"}
    with pytest.raises(ValueError, match="action shape"):
        env.step(np.zeros((6, 28)))


def test_reference_state_initialization(env):
    env.reset(np.arange(6))
    state = env.index.from_backend(env.backend)
    ref, _ = env.refs.state(env.clip, env.frame)
    np.testing.assert_allclose(state.body_pos, ref.body_pos, atol=1e-6)
    np.testing.assert_allclose(state.joint_vel, ref.joint_vel, atol=1e-9)
    np.testing.assert_allclose(state.object_ang_vel, ref.object_ang_vel, atol=1e-9)


def test_start_joint_noise_without_randomization(clip):
    env = HoiEnv([clip], EnvConfig(num_envs=16, num_threads=1, start_joint_noise=0.1, **EXACT))
    state = env.index.from_backend(env.backend)
    ref, _ = env.refs.state(env.clip, env.frame)
    noise = state.joint_pos - ref.joint_pos
    assert 0.08 < noise.std() < 0.12 and abs(noise.mean()) < 0.02
    # Joints only; the robot is lifted where the noise pushed a foot into the floor.
    np.testing.assert_allclose(state.root_pos[:, :2], ref.root_pos[:, :2], atol=1e-9)
    lift = state.root_pos[:, 2] - ref.root_pos[:, 2]
    assert (lift >= 0).all() and (lift < 0.05).all()


def test_batched_observation_equals_single_robot(env):
    """The batch path and the single-MjData path (sim2sim, deploy) give identical obs."""
    rng = np.random.default_rng(2)
    for _ in range(5):
        env.step(rng.normal(scale=0.2, size=(6, 29)))
    batched = env.observation()
    data = mujoco.MjData(env.model)
    qpos, qvel = env.backend.field("qpos"), env.backend.field("qvel")
    for i in range(6):
        data.qpos[:], data.qvel[:] = qpos[i], qvel[i]
        mujoco.mj_forward(env.model, data)
        state = env.index.from_mjdata(data)
        future = [
            env.refs.state(env.clip[i : i + 1], env.frame[i : i + 1] + k)
            for k in env.cfg.future_offsets
        ]
        single = build_observation(ObsInputs(state, env.last_action[i : i + 1], future, env.planes))
        np.testing.assert_allclose(single[0], batched[i], atol=1e-5)


def test_zero_action_holds_the_default_pose_targets(env):
    env.step(np.zeros((6, 29)))
    np.testing.assert_allclose(env.backend.field("ctrl")[0], g1.DEFAULT_POS)


def test_randomization_per_simulation(clip):
    env = HoiEnv([clip], EnvConfig(num_envs=8, num_threads=2, psi_prob=0.0))
    mass = env.backend.model_field("body_mass")[:, env.model.body(env.object.name).id]
    assert len(np.unique(mass)) == 8 and np.all((mass > 0.69 * 2) & (mass < 1.31 * 2))
    kp = env.backend.model_field("actuator_gainprm")[:, :, 0]
    assert np.ptp(kp[:, 0]) > 0
    timeconst = env.backend.model_field("geom_solref")[:, :, 0]
    assert len(np.unique(timeconst[:, 0])) == 8 and (timeconst >= 0.01).all()
    assert (timeconst == timeconst[:, :1]).all()  # one softness per simulation
    # Sensor noise on what the policy sees, not on the simulation.
    state = env.index.from_backend(env.backend)
    obs = env.observation(state)
    np.testing.assert_array_equal(env.index.from_backend(env.backend).joint_pos, state.joint_pos)
    joints = obs[:, term_slice("joint_pos")] + g1.DEFAULT_POS
    noise = joints - state.joint_pos
    assert 0.002 < noise.std() < 0.01  # sim2sim's 5 mrad


def test_without_model_randomization_the_model_keeps_its_values(clip):
    rc = RandomizationConfig(model=False, max_latency_s=0.02)
    env = HoiEnv([clip], EnvConfig(num_envs=8, num_threads=2, psi_prob=0.0, randomization=rc))
    assert env.randomizer is None
    for field in ("body_mass", "geom_friction", "geom_solref", "actuator_gainprm"):
        per_simulation = env.backend.model_field(field)
        assert (per_simulation == getattr(env.model, field)).all(), field
    assert len(np.unique(env.latency)) > 1  # latency and sensor noise stay drawn
    state = env.index.from_backend(env.backend)
    noise = env.observation(state)[:, term_slice("joint_pos")] + g1.DEFAULT_POS - state.joint_pos
    assert 0.002 < noise.std() < 0.01


def test_the_batched_physics_refuses_the_sampled_pd_law(clip):
    physics = replace(SimOptions(), pd="sampled")
    with pytest.raises(ValueError, match="continuous PD law only"):
        HoiEnv([clip], EnvConfig(num_envs=1, num_threads=1, physics=physics))


def test_a_drawn_latency_applies_the_new_targets_at_its_substep(clip):
    env = HoiEnv([clip], EnvConfig(num_envs=5, num_threads=1, psi_prob=0.0))
    assert set(env.latency) <= set(range(env.decimation + 1))
    env.latency[:] = np.arange(5)  # 0-20 ms at 5 ms substeps
    env.prev_target[:] = g1.DEFAULT_POS
    seen = []
    step = env.backend.step

    def record(nstep, ctrl=None):
        seen.append((nstep, ctrl.copy()))
        step(nstep, ctrl)

    env.backend.step = record
    ctrl = env.backend.field("ctrl").copy()
    env.step(np.full((5, 29), 0.5))
    env.backend.step = step
    old = g1.DEFAULT_POS
    new = safe_targets(g1.DEFAULT_POS + 0.5 * env.action_scale)  # inside the joints
    assert (new < g1.DEFAULT_POS + 0.5 * env.action_scale).any()
    [(nstep, controls)] = seen  # one call: the control period with each substep's targets
    assert nstep == len(controls) == env.decimation
    np.testing.assert_array_equal(env.backend.field("ctrl"), controls[-1])
    dt = env.cfg.physics.timestep
    for k, sent in enumerate(controls):
        for i in range(5):  # towards the old or new targets, no faster than the node lets
            goal = old if k < i else new
            expected = np.clip(goal, ctrl[i] - MAX_TARGET_RATE * dt, ctrl[i] + MAX_TARGET_RATE * dt)
            np.testing.assert_allclose(sent[i], expected)
        ctrl = sent


def test_a_tracker_latency_is_drawn_per_episode_and_delays_only_the_object(clip):
    from dataclasses import replace

    from contract.sensors import SensorNoise

    quiet = replace(RandomizationConfig(), sensor_noise=SensorNoise(0.0, 0.0, 0.0),
                    tracker_latency_s=0.04)  # fmt: skip
    env = HoiEnv([clip], EnvConfig(num_envs=8, num_threads=1, psi_prob=0.0,
                                   randomization=quiet))  # fmt: skip
    assert set(env.tracker.steps) <= {0, 1, 2} and len(set(env.tracker.steps)) > 1
    env.observation()
    for _ in range(3):
        obs, *_ = env.step(np.zeros((8, 29)))
    state = env.index.from_backend(env.backend)
    env.tracker, tracker = None, env.tracker  # the observation without a tracker's delay
    exact = env.observation(state)
    env.tracker = tracker
    on_time = tracker.steps == 0
    pose = slice(term_slice("object_state").start, term_slice("object_state").start + 9)
    np.testing.assert_allclose(obs[on_time][:, pose], exact[on_time][:, pose])
    assert not np.allclose(obs[~on_time][:, pose], exact[~on_time][:, pose])
    joints = term_slice("joint_pos")
    np.testing.assert_allclose(obs[:, joints], exact[:, joints])


def test_physical_state_initialization(clip):
    env = HoiEnv([clip], EnvConfig(num_envs=6, num_threads=2, seed=3, psi_prob=1.0,
                                   randomization=RandomizationConfig(enabled=False)))  # fmt: skip
    for _ in range(3):
        env.step(np.zeros((6, 29)))
    frames = env.psi_count[:-1]  # the last row takes the states not kept
    assert frames.sum() > 0  # well-tracked frames were stored
    row = int(np.flatnonzero(frames)[0])
    clip_id = int(np.searchsorted(env.refs.starts, row, side="right") - 1)
    frame = row - env.refs.starts[clip_id]
    env.reset_to(np.array([0]), np.array([clip_id]), np.array([frame]))
    stored = env.psi_qpos[row, : min(env.psi_count[row], env.cfg.psi_size)]
    assert np.min(np.abs(stored - env.backend.field("qpos")[0]).max(axis=1)) < 1e-12


def test_env_with_real_retargeted_clip(shared):
    from retarget.pipeline import retarget
    from retarget.readers import read_motion

    folder = shared / "data/interact_omomo"
    clip = retarget(read_motion(folder / "motions/sub8_largebox_000.pt", folder / "objects")).clip
    env = HoiEnv([clip], EnvConfig(num_envs=4, num_threads=2))  # randomization on
    for _ in range(10):
        obs, reward, *_ = env.step(np.zeros((4, 29)))
    assert np.all(np.isfinite(obs)) and np.all(np.isfinite(reward))


def test_attempt_stats_name_the_termination_that_ended_each_attempt(env):
    from contract.metrics import AttemptStats

    env.reset(np.arange(6))
    *_, info = env.step(np.zeros((6, 29)))
    stats = AttemptStats(6, np.zeros((4, 3)))
    no = np.zeros(6, bool)
    causes = {"fall": np.array([1, 0, 0, 0, 0, 0], bool),
              "contact_lost": np.array([1, 1, 0, 0, 0, 0], bool)}  # fmt: skip
    stats.record(causes["fall"] | causes["contact_lost"], no, {**info, "causes": causes})
    later = {"fall": np.ones(6, bool), "contact_lost": no}  # the ended ones stay as they ended
    stats.record(np.ones(6, bool), no, {**info, "causes": later})
    assert stats.summary(50.0)["terminations"] == {"fall": 5, "contact_lost": 1}
