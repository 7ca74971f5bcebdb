import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from deploy.safety import SafetyLimits, damping_command, filter_command, torque_estimate
from robots import g1

LIMITS = SafetyLimits()
N = g1.NUM_JOINTS
anything = st.floats(allow_nan=True, allow_infinity=True, width=64)
wide = st.floats(min_value=-1e6, max_value=1e6)


def joint_vector(elements):
    return arrays(np.float64, N, elements=elements)


def check(cmd, q, dq, previous):
    assert all(np.all(np.isfinite(x)) for x in (cmd.q, cmd.kp, cmd.kd, cmd.dq, cmd.tau))
    assert np.all(cmd.q >= LIMITS.lower - 1e-12) and np.all(cmd.q <= LIMITS.upper + 1e-12)
    assert np.all((cmd.kp >= 0) & (cmd.kp <= LIMITS.max_kp)) and np.all(
        (cmd.kd >= 0) & (cmd.kd <= LIMITS.max_kd)
    )
    finite = all(np.all(np.isfinite(x)) for x in (q, dq))
    if finite:
        tau = torque_estimate(cmd, q, dq)
        assert np.all(np.abs(tau) <= g1.EFFORT_LIMIT * (1 + 1e-9)), np.abs(tau).max()
    if not cmd.damping and previous is not None:
        ref = np.clip(previous, LIMITS.lower, LIMITS.upper)
        assert np.all(np.abs(cmd.q - ref) <= LIMITS.max_step + 1e-12)


@settings(max_examples=300, deadline=None)
@given(*[joint_vector(wide)] * 5, st.one_of(st.none(), joint_vector(wide)))
def test_every_command_is_within_limits(q_des, kp, kd, q, dq, previous):
    check(filter_command(q_des, kp, kd, q, dq, previous, LIMITS), q, dq, previous)


@settings(max_examples=200, deadline=None)
@given(*[joint_vector(anything)] * 5)
def test_non_finite_inputs_give_damping(q_des, kp, kd, q, dq):
    cmd = filter_command(q_des, kp, kd, q, dq, None, LIMITS)
    inputs_finite = all(np.all(np.isfinite(x)) for x in (q_des, kp, kd, q, dq))
    assert cmd.damping == (not inputs_finite)
    check(cmd, q, dq, None)


def test_normal_command_passes_unchanged():
    q = g1.DEFAULT_POS.copy()
    kp, kd = g1.gains("tracking")
    cmd = filter_command(q + 0.01, kp, kd, q, np.zeros(N), q, LIMITS)
    np.testing.assert_allclose(cmd.q, q + 0.01)
    np.testing.assert_allclose(cmd.kp, kp, rtol=1e-8)
    assert not cmd.damping


def test_wrong_shapes_give_damping():
    cmd = filter_command(
        np.zeros(28), np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(N), None, LIMITS
    )
    assert cmd.damping and np.all(cmd.kp == 0)
    assert damping_command(np.full(N, np.nan), np.full(N, np.inf), LIMITS).q.shape == (N,)
