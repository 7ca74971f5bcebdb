from dataclasses import replace

import numpy as np

from contract.sensors import SensorNoise
from tests.states import resting_state


def test_the_object_is_seen_exactly_unless_tracker_noise_is_asked():
    s = resting_state(4000)
    plain = SensorNoise().measure(s, np.random.default_rng(0))
    assert not plain.object_pos.any() and not plain.object_lin_vel.any()
    assert abs(plain.joint_pos.std() - 0.005) < 2e-4
    noisy = replace(SensorNoise(), object_pos=0.005, object_vel=0.1).measure(
        s, np.random.default_rng(0)
    )
    assert abs(noisy.object_pos.std() - 0.005) < 2e-4
    assert abs(noisy.object_lin_vel.std() - 0.1) < 4e-3
    assert s.object_pos is not noisy.object_pos and not s.object_pos.any()  # kept
