from dataclasses import replace

import numpy as np

from contract.sensors import SensorNoise
from contract.state import KEY_BODIES, HoiState


def state(n: int) -> HoiState:
    z3, q = np.zeros((n, 3)), np.tile([1.0, 0, 0, 0], (n, 1))
    k = len(KEY_BODIES)
    return HoiState(root_pos=z3, root_quat=q, root_lin_vel=z3, root_ang_vel=z3,
                    joint_pos=np.zeros((n, 29)), joint_vel=np.zeros((n, 29)),
                    body_pos=np.zeros((n, k, 3)), body_quat=np.tile(q[:, None], (1, k, 1)),
                    body_lin_vel=np.zeros((n, k, 3)), object_pos=z3, object_quat=q,
                    object_lin_vel=z3, object_ang_vel=z3)  # fmt: skip


def test_the_object_is_seen_exactly_unless_tracker_noise_is_asked():
    s = state(4000)
    plain = SensorNoise().measure(s, np.random.default_rng(0))
    assert not plain.object_pos.any() and not plain.object_lin_vel.any()
    assert abs(plain.joint_pos.std() - 0.005) < 2e-4
    noisy = replace(SensorNoise(), object_pos=0.005, object_vel=0.1).measure(
        s, np.random.default_rng(0)
    )
    assert abs(noisy.object_pos.std() - 0.005) < 2e-4
    assert abs(noisy.object_lin_vel.std() - 0.1) < 4e-3
    assert s.object_pos is not noisy.object_pos and not s.object_pos.any()  # kept
