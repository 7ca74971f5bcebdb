"""Constructed robot + object states for tests."""

import numpy as np

from contract.state import KEY_BODIES, HoiState


def resting_state(n: int) -> HoiState:
    """``n`` states at the origin: identity orientations, nothing moving."""
    z3, q = np.zeros((n, 3)), np.tile([1.0, 0, 0, 0], (n, 1))
    k = len(KEY_BODIES)
    return HoiState(root_pos=z3, root_quat=q, root_lin_vel=z3, root_ang_vel=z3,
                    joint_pos=np.zeros((n, 29)), joint_vel=np.zeros((n, 29)),
                    body_pos=np.zeros((n, k, 3)), body_quat=np.tile(q[:, None], (1, k, 1)),
                    body_lin_vel=np.zeros((n, k, 3)), object_pos=z3, object_quat=q,
                    object_lin_vel=z3, object_ang_vel=z3)  # fmt: skip


def random_state(n: int, rng: np.random.Generator) -> HoiState:
    """``n`` states with every field random: unit quaternions, bodies and the object
    within a metre of the origin."""
    k = len(KEY_BODIES)

    def unit(*shape):
        q = rng.normal(size=(*shape, 4))
        return q / np.linalg.norm(q, axis=-1, keepdims=True)

    return HoiState(root_pos=rng.normal(size=(n, 3)) * 0.5 + [0, 0, 0.7], root_quat=unit(n),
                    root_lin_vel=rng.normal(size=(n, 3)), root_ang_vel=rng.normal(size=(n, 3)),
                    joint_pos=rng.normal(size=(n, 29)), joint_vel=rng.normal(size=(n, 29)),
                    body_pos=rng.normal(size=(n, k, 3)) * 0.4, body_quat=unit(n, k),
                    body_lin_vel=rng.normal(size=(n, k, 3)),
                    object_pos=rng.normal(size=(n, 3)) * 0.3, object_quat=unit(n),
                    object_lin_vel=rng.normal(size=(n, 3)),
                    object_ang_vel=rng.normal(size=(n, 3)))  # fmt: skip
