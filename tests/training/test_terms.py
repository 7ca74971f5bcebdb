"""Every observation, reward and termination term on a tiny batch: shapes, finiteness and
at least one known value each."""

import dataclasses

import numpy as np
import pytest

from contract import observations as O
from contract import terminations as T
from contract.reference import ReferenceMotions
from contract.state import KEY_BODIES
from robots import g1, quat
from robots.objects import ObjectSpec, convex_planes
from training import rewards as R

N = 3


@pytest.fixture(scope="module")
def refs(clip):
    return ReferenceMotions([clip], fps=50.0)


@pytest.fixture(scope="module")
def batch(refs):
    """Reference states at three frames, used as both state and reference."""
    frames = np.array([0, 60, 120])
    return refs.state(np.zeros(N, int), frames)


def inputs(state, contact, planes, offsets=(1, 2)):
    future = [(state, contact) for _ in offsets]
    return O.ObsInputs(state, np.zeros((N, g1.NUM_JOINTS)), future, planes)


def test_every_observation_term(batch, refs):
    state, contact = batch
    planes = convex_planes(refs.object)
    x = inputs(state, contact, planes)
    sizes = O.term_sizes(2)
    for name, fn in O.OBSERVATION_TERMS:
        out = fn(x)
        assert out.shape == (N, sizes[name]), name
        assert np.all(np.isfinite(out)), name
    np.testing.assert_allclose(O.root_height(x)[:, 0], state.root_pos[:, 2])
    np.testing.assert_allclose(O.joint_pos(x), state.joint_pos - g1.DEFAULT_POS)
    # Reference equal to the state: every residual is zero or the identity rotation.
    fut = O.reference_future(x)[:, : O.FUTURE_SIZE]
    ident6 = np.array([1.0, 0, 0, 0, 1, 0])
    np.testing.assert_allclose(fut[:, :3], 0, atol=1e-12)
    np.testing.assert_allclose(fut[:, 3:9], np.tile(ident6, (N, 1)), atol=1e-12)
    np.testing.assert_allclose(fut[:, 9 : 9 + 29 + 42 + 3], 0, atol=1e-12)
    np.testing.assert_allclose(fut[:, -5:], contact)
    assert O.build_observation(x).shape == (N, sum(sizes.values()))


def test_known_values_on_a_constructed_state(batch):
    state, contact = batch
    s = dataclasses.replace(
        state,
        root_quat=np.tile([1.0, 0, 0, 0], (N, 1)),
        root_lin_vel=np.tile([1.0, 0, 0], (N, 1)),
        object_pos=state.root_pos + [0.5, 0, 0],
        object_quat=np.tile([1.0, 0, 0, 0], (N, 1)),
    )
    box = ObjectSpec("b", "box", (0.2, 0.2, 0.2), mass=1.0)
    x = inputs(s, contact, convex_planes(box))
    np.testing.assert_allclose(O.projected_gravity(x), np.tile([0, 0, -1.0], (N, 1)))
    np.testing.assert_allclose(O.root_lin_vel(x), np.tile([1.0, 0, 0], (N, 1)))
    np.testing.assert_allclose(O.object_state(x)[:, :3], np.tile([0.5, 0, 0], (N, 1)))
    # A hand placed 5 cm in front of the box's -x face: distance 0.05, not touching.
    hand = KEY_BODIES.index("left_wrist_yaw_link")
    body_pos = s.body_pos.copy()
    body_pos[:, hand] = s.object_pos + [-0.15, 0, 0]
    s2 = dataclasses.replace(s, body_pos=body_pos)
    dist, normal = O.body_object_distance(s2, convex_planes(box))
    np.testing.assert_allclose(dist[:, 0], 0.05, atol=1e-12)
    np.testing.assert_allclose(normal[:, 0], np.tile([-1.0, 0, 0], (N, 1)), atol=1e-12)
    inter = O.interaction(inputs(s2, contact, convex_planes(box)))
    assert np.all(inter[:, len(O.HOI_BODIES)] == 0)  # 5 cm > contact distance


def test_reward_terms_peak_on_the_reference(batch, refs):
    state, contact = batch
    c = R.RewardConfig()
    for fn, sigma in (
        (R.body_pos_tracking, c.sigma_body_pos), (R.body_rot_tracking, c.sigma_body_rot),
        (R.body_vel_tracking, c.sigma_body_vel), (R.object_pos_tracking, c.sigma_object_pos),
        (R.object_rot_tracking, c.sigma_object_rot),
    ):  # fmt: skip
        np.testing.assert_allclose(fn(state, state, sigma), 1.0, atol=1e-9, err_msg=fn.__name__)
        moved = dataclasses.replace(
            state,
            body_pos=state.body_pos + 0.2,
            body_quat=quat.multiply(quat.from_axis_angle([0, 0, 1.0], 0.5), state.body_quat),
            body_lin_vel=state.body_lin_vel + 1.0,
            object_pos=state.object_pos + 0.2,
            object_quat=quat.multiply(quat.from_axis_angle([0, 0, 1.0], 0.5), state.object_quat),
        )
        r = fn(moved, state, sigma)
        assert np.all((r > 0) & (r < 1)), fn.__name__
    touching = contact[:, :2] > 0.5
    np.testing.assert_allclose(R.contact_tracking(touching, contact), 1.0)
    np.testing.assert_allclose(R.contact_tracking(~touching, contact), 0.0)
    tau = np.ones((N, 29))
    np.testing.assert_allclose(R.energy(tau, np.zeros((N, 29))), 0.0)
    np.testing.assert_allclose(R.energy(tau, -2 * np.ones((N, 29))), 58.0)


def test_grasp_reward(batch):
    state, _ = batch
    box = ObjectSpec("b", "box", (0.2, 0.2, 0.2), mass=1.0)
    hand = KEY_BODIES.index("left_wrist_yaw_link")
    # Left hand touching the box's +y face with its palm (-y of the hand) facing it: the
    # hand capsule's surface on the face, its axis (the link origin) a radius away.
    body_pos = state.body_pos.copy()
    body_quat = state.body_quat.copy()
    obj = state.root_pos + [0.4, 0, 0]
    body_pos[:, hand] = obj + [0, 0.1 + g1.HAND_RADIUS, 0]
    body_quat[:, hand] = [1.0, 0, 0, 0]
    s = dataclasses.replace(state, body_pos=body_pos, body_quat=body_quat, object_pos=obj,
                            object_quat=np.tile([1.0, 0, 0, 0], (N, 1)))  # fmt: skip
    dist, normal = O.body_object_distance(s, convex_planes(box))
    want = np.zeros((N, 5))
    want[:, 0] = 1
    np.testing.assert_allclose(R.grasp(s, want, dist, normal), 1.0, atol=1e-9)
    np.testing.assert_allclose(R.grasp(s, np.zeros((N, 5)), dist, normal), 0.0)
    away = dataclasses.replace(s, body_pos=body_pos + [0, 0.1, 0])
    dist, normal = O.body_object_distance(away, convex_planes(box))
    assert np.all(R.grasp(away, want, dist, normal) < 0.1)


def test_reference_hands_count_as_touching_where_labelled(refs):
    """A policy that tracks the reference exactly must not be ended by the contact-lost
    rule: in the reference's own hand-contact frames its hands touch the box."""
    n = int(refs.lengths[0])
    state, contact = refs.state(np.zeros(n, int), np.arange(n))
    dist, _ = O.body_object_distance(state, convex_planes(refs.object))
    touching = T.hands_touching(dist)
    labelled = contact[:, :2] > 0.5
    assert labelled.sum() > 50
    assert touching[labelled].mean() > 0.95
    lost = np.zeros((1, 2), int)
    for k in range(n):
        lost = T.count_contact_lost(lost, touching[k : k + 1], contact[k : k + 1])
        assert not T.contact_lost(lost, T.TerminationConfig()).any(), k


def test_terminations(batch):
    state, _ = batch
    cfg = T.TerminationConfig()
    assert not T.fallen(state, cfg).any()
    low = dataclasses.replace(state, root_pos=state.root_pos * [1, 1, 0.1])
    assert T.fallen(low, cfg).all()
    tipped = dataclasses.replace(
        state, root_quat=quat.from_axis_angle(np.tile([1.0, 0, 0], (N, 1)), np.full(N, 1.5))
    )
    assert T.fallen(tipped, cfg).all()
    far = dataclasses.replace(state, object_pos=state.object_pos + [0.6, 0, 0])
    assert (
        T.object_deviated(far, state, cfg).all() and not T.object_deviated(state, state, cfg).any()
    )
    off = dataclasses.replace(state, body_pos=state.body_pos + [0.6, 0, 0])
    assert T.robot_deviated(off, state, cfg).all()
    lost = np.array([[11, 0], [10, 10], [0, 0]])
    np.testing.assert_array_equal(T.contact_lost(lost, cfg), [True, False, False])


def test_contract_hash_tracks_the_layout():
    assert O.contract_hash((1, 2, 4, 16)) == O.contract_hash((1, 2, 4, 16))
    assert O.contract_hash((1, 2, 4, 16)) != O.contract_hash((1, 16))


def test_foot_slip_counts_planted_feet_only(batch):
    state, _ = batch
    s = dataclasses.replace(state, body_lin_vel=np.zeros_like(state.body_lin_vel))
    left, right = (
        KEY_BODIES.index("left_ankle_roll_link"),
        KEY_BODIES.index("right_ankle_roll_link"),
    )
    s.body_lin_vel[:, left] = [0.3, 0.4, 5.0]  # 0.5 m/s horizontal; vertical not counted
    s.body_lin_vel[:, right] = [1.0, 0.0, 0.0]
    contact = np.zeros((len(s.root_pos), 5))
    contact[:, 2] = 1.0  # only the left foot is planted in the reference
    np.testing.assert_allclose(R.foot_slip(s, contact), 0.5)
    contact[:, 3] = 1.0
    np.testing.assert_allclose(R.foot_slip(s, contact), 1.5)


def test_hands_are_scored_relative_to_the_object_where_it_is(batch, refs):
    state, _ = batch
    planes = convex_planes(refs.object)
    ref_dist, _ = O.body_object_distance(state, planes)
    near = (ref_dist[:, list(R.HAND_SLOTS)] < R.HAND_REACH).any(axis=1)
    assert near.any() and not near.all()  # the clip's walk-up and its carry
    sigma = R.RewardConfig().sigma_hand_object
    np.testing.assert_allclose(R.hand_object(state, state, ref_dist, sigma), near * 1.0)
    # Object and robot moved and turned together: the hands are where they should be.
    turn = quat.from_axis_angle([0, 0, 1.0], 0.4)

    def moved(s, shift):
        rotate = lambda p: quat.rotate(np.broadcast_to(turn, (*p.shape[:-1], 4)), p)  # noqa: E731
        return dataclasses.replace(
            s, body_pos=rotate(s.body_pos) + shift, object_pos=rotate(s.object_pos) + shift,
            body_quat=quat.multiply(np.broadcast_to(turn, s.body_quat.shape), s.body_quat),
            object_quat=quat.multiply(np.broadcast_to(turn, s.object_quat.shape), s.object_quat),
        )  # fmt: skip

    both = moved(state, np.array([0.05, -0.03, 0.0]))
    np.testing.assert_allclose(R.hand_object(both, state, ref_dist, sigma), near * 1.0, atol=1e-9)
    # The object moved away from where the hands are: less, where they are reaching.
    away = dataclasses.replace(state, object_pos=state.object_pos + [0.05, 0.0, 0.0])
    r = R.hand_object(away, state, ref_dist, sigma)
    assert np.all(r[near] < 0.9) and np.all(r[~near] == 0.0)


def test_leaning_on_the_object_is_penalized_where_the_reference_keeps_clear(batch, refs):
    state, _ = batch
    planes = convex_planes(refs.object)
    np.testing.assert_allclose(R.torso_clearance(state, state, planes), 0.0)
    # The object brought up to the torso: the penalty is the gap lost, up to the margin.
    torso = state.body_pos[:, R.TORSO]
    lean = dataclasses.replace(state, object_pos=torso + [0.3, 0.0, 0.0])
    gap = R._torso_clearance(lean, planes)
    expected = np.clip(np.minimum(R._torso_clearance(state, planes), R.TORSO_MARGIN) - gap, 0, None)
    np.testing.assert_allclose(R.torso_clearance(lean, state, planes), expected)
    assert expected.max() > 0.05


def test_joints_past_their_soft_limits_are_penalized_unless_the_reference_is(batch):
    state, _ = batch
    np.testing.assert_allclose(R.joint_limits(state, state), 0.0)
    waist = g1.JOINT_NAMES.index("waist_pitch_joint")
    at_limit = dataclasses.replace(state, joint_pos=state.joint_pos.copy())
    at_limit.joint_pos[:, waist] = g1.JOINT_UPPER[waist]
    past = g1.JOINT_UPPER[waist] - R.SOFT_UPPER[waist]
    np.testing.assert_allclose(R.joint_limits(at_limit, state), past)
    np.testing.assert_allclose(R.joint_limits(at_limit, at_limit), 0.0)  # the reference's own
