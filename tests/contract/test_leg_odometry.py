import numpy as np

from contract.leg_odometry import LegOdometry
from robots import g1


def test_a_planted_foot_gives_the_pelvis_velocity():
    odometry = LegOdometry(dt=0.02)
    v = np.array([0.3, -0.1, 0.05])
    for k in range(50):
        pelvis = np.array([0.0, 0.0, 0.75]) + v * k * 0.02
        swing = np.array([0.3, 0.1, 0.1 + 0.05 * np.sin(k)])  # in the air, moving
        feet = np.stack([swing, np.array([0.0, -0.1, 0.03])]) - pelvis
        out = odometry.update_offsets(feet)
        assert out.shape == (1, 3)
    np.testing.assert_allclose(out[0], v, atol=1e-3)
    noisy = LegOdometry(dt=0.02)  # 2 mm of kinematic noise per step: filtered
    rng = np.random.default_rng(0)
    for k in range(100):
        pelvis = np.array([0.0, 0.0, 0.75]) + v * k * 0.02
        foot = np.array([0.0, -0.1, 0.03]) + rng.normal(0, 0.002, 3)
        out = noisy.update_offsets(np.stack([np.array([0.3, 0.1, 0.2]), foot]) - pelvis)
    assert np.abs(out[0] - v).max() < 0.1


def test_a_stance_change_keeps_the_estimate():
    odometry = LegOdometry(dt=0.02)
    feet = np.array([[0.0, 0.1, 0.03], [0.2, -0.1, 0.031]])
    for k in range(20):
        odometry.update_offsets(feet - [0.01 * k, 0.0, 0.75])  # 0.5 m/s
    before = odometry.velocity.copy()
    feet[0, 2] = 0.2  # the left foot lifts: the right one stands
    after = odometry.update_offsets(feet - [0.2, 0.0, 0.75])
    np.testing.assert_allclose(after[0], before)


def test_standing_still_in_the_default_pose_reads_zero():
    odometry = LegOdometry(dt=0.02)
    for _ in range(5):
        out = odometry.update(np.array([[1.0, 0, 0, 0]]), g1.DEFAULT_POS[None])
    np.testing.assert_allclose(out, 0.0, atol=1e-12)
