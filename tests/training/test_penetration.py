import numpy as np
import pytest

from robots import g1
from training.env import EnvConfig, HoiEnv
from training.randomization import RandomizationConfig


@pytest.fixture(scope="module")
def env(clip):
    cfg = EnvConfig(num_envs=8, num_threads=1, psi_prob=0.0, seed=3,
                    randomization=RandomizationConfig(enabled=False))  # fmt: skip
    return HoiEnv([clip], cfg)


def _grasp_starts(env):
    """Reset every simulation to a frame where the reference holds the object."""
    frames = np.arange(env.refs.lengths[0])
    _, contact = env.refs.state(np.zeros(len(frames), int), frames)
    held = frames[(contact[:, :2] > 0.5).all(axis=1)]
    ids = np.arange(env.n)
    env.reset_to(ids, np.zeros(env.n, int), held[np.linspace(0, len(held) - 1, env.n).astype(int)])
    return ids


def test_probe_measures_floor_and_object_depths(env):
    ix = env.index
    q = env.model.key("default").qpos.copy()
    floor, obj, robot = env.probe.depths(q)
    assert floor[0] < 2e-3 and obj[0] == 0.0 and robot[0] == 0.0  # standing, box in front
    sunk = q.copy()
    sunk[ix.root_q + 2] -= 0.05
    assert env.probe.depths(sunk).floor[0] == pytest.approx(floor[0] + 0.05, abs=2e-3)
    inside = q.copy()
    inside[ix.obj_q : ix.obj_q + 3] = q[ix.root_q : ix.root_q + 3]  # box at the pelvis
    assert env.probe.depths(inside).object[0] > 0.05
    crossed = q.copy()  # the left arm swung into the torso
    crossed[ix.joint_q[g1.joint_index("left_shoulder_roll_joint")]] = -0.4
    assert env.probe.depths(crossed).robot[0] > 0.03


def test_perturbed_starts_stay_out_of_the_object_and_the_floor(env):
    ids = _grasp_starts(env)
    before = env._qpos[ids].copy()
    allowed = env.probe.depths(before).object + env.cfg.start_object_tolerance
    env.perturb_joints(ids, 0.1)
    floor, obj, _ = env.probe.depths(env._qpos[ids])
    assert (obj <= allowed).all() and (floor < 1e-9).all()
    moved = np.abs(env._qpos[ids][:, env.index.joint_q] - before[:, env.index.joint_q]).max(1)
    assert (moved > 0).sum() >= env.n // 2  # most starts found a valid draw
    # Without the check, the same noise sinks hands into the box (what it prevents).
    raw = before.copy()
    raw[:, env.index.joint_q] += np.random.default_rng(0).normal(scale=0.1, size=(env.n, 29))
    assert (env.probe.depths(raw).object > allowed).any()


def test_joint_noise_can_be_scaled_per_simulation(env):
    ids = _grasp_starts(env)
    joints = env.index.joint_q
    before = env._qpos[ids][:, joints].copy()
    env.perturb_joints(ids, np.where(ids % 2 == 0, 0.0, 0.05))
    moved = np.abs(env._qpos[ids][:, joints] - before).max(axis=1)
    assert (moved[0::2] == 0).all() and (moved[1::2] > 0).all()
    with pytest.raises(ValueError, match=r"noise scales \(3,\) for 8 simulations"):
        env.perturb_joints(ids, np.full(3, 0.1))


def test_starts_that_stay_too_deep_keep_their_unperturbed_state(env):
    ids = _grasp_starts(env)
    before = env._qpos[ids].copy()
    ix, calls = env.index, []

    def into_the_box(qpos, which):
        calls.append(len(qpos))
        qpos = qpos.copy()
        qpos[:, ix.root_q : ix.root_q + 3] = qpos[:, ix.obj_q : ix.obj_q + 3]
        return qpos

    env.physical_start(ids, into_the_box)
    assert calls == [env.n * env.cfg.start_tries]  # every draw, in one check
    z = ix.root_q + 2  # the reference may touch the floor: at most a lift out of it
    np.testing.assert_array_equal(np.delete(env._qpos[ids], z, 1), np.delete(before, z, 1))
    assert (env._qpos[ids, z] - before[:, z]).clip(0, None).max() < 2e-3


def test_each_start_keeps_its_first_draw_that_fits(env):
    """Draw t of every simulation is marked by a hip angle of t cm-rad; draws before each
    simulation's own first fitting one go into the box."""
    ids = _grasp_starts(env)
    ix, tries = env.index, env.cfg.start_tries
    hip = ix.joint_q[g1.joint_index("left_hip_roll_joint")]
    good_from = np.arange(env.n) % tries  # simulation i: draws i % tries onwards fit

    def marked(qpos, which):
        qpos = qpos.copy()
        draw = np.arange(len(qpos)) // env.n  # rows: the draws of all, draw by draw
        qpos[:, hip] = draw / 100
        bad = draw < good_from[which]
        qpos[bad, ix.root_q : ix.root_q + 3] = qpos[bad, ix.obj_q : ix.obj_q + 3]
        return qpos

    env.physical_start(ids, marked)
    np.testing.assert_allclose(env._qpos[ids, hip], good_from / 100)


def test_sunk_starts_are_lifted_out_of_the_floor(env):
    ids = np.arange(env.n)
    env.reset_to(ids, np.zeros(env.n, int), np.zeros(env.n, int))  # before the grasp
    ix = env.index

    def sink(qpos, which):
        qpos = qpos.copy()
        qpos[:, ix.root_q + 2] -= 0.04
        return qpos

    env.physical_start(ids, sink)
    assert (env.probe.depths(env._qpos[ids]).floor < 1e-9).all()
    # Lifted just out of it: 1 mm lower is 1 mm in.
    lower = env._qpos[ids].copy()
    lower[:, ix.root_q + 2] -= 1e-3
    np.testing.assert_allclose(env.probe.depths(lower).floor, 1e-3, atol=1e-4)


def test_starts_refuse_self_penetration(env):
    ids = np.arange(env.n)
    env.reset_to(ids, np.zeros(env.n, int), np.zeros(env.n, int))
    before = env._qpos[ids].copy()
    roll = env.index.joint_q[g1.joint_index("left_shoulder_roll_joint")]

    def arm_into_torso(qpos, which):
        qpos = qpos.copy()
        qpos[:, roll] = -0.4
        return qpos

    env.physical_start(ids, arm_into_torso)
    np.testing.assert_array_equal(env._qpos[ids, roll], before[:, roll])
    assert (env.probe.depths(env._qpos[ids]).robot <= env.cfg.start_self_tolerance).all()


def test_psi_states_that_penetrate_are_refused(clip):
    cfg = EnvConfig(num_envs=4, num_threads=1, psi_prob=1.0,
                    randomization=RandomizationConfig(enabled=False))  # fmt: skip
    env = HoiEnv([clip], cfg)
    ids, frames = np.arange(env.n), np.array([0, 0, 1, 1])
    rows = env.refs.index(np.zeros(env.n, int), frames)
    stored = env.model.key("default").qpos.copy()
    stored[env.index.root_q + 2] += 0.01
    crossed = stored.copy()
    crossed[env.index.joint_q[g1.joint_index("left_shoulder_roll_joint")]] = -0.4
    env.psi_qpos[rows[:2], 0], env.psi_qpos[rows[2:], 0] = stored, crossed
    env.psi_count[:] = 0
    env.psi_count[rows] = 1
    env.reset_to(ids, np.zeros(env.n, int), frames)
    np.testing.assert_allclose(env._qpos[:2], np.tile(stored, (2, 1)))  # used
    ref, _ = env.refs.state(np.zeros(2, int), frames[2:])
    np.testing.assert_allclose(env._qpos[2:, env.index.joint_q], ref.joint_pos)  # refused
