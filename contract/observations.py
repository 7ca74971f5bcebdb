"""The observation contract: one function per term, batched over N simulations (N = 1
on the robot), on numpy arrays (sim2sim, the robot node) or torch tensors (training),
through the array API standard (``common.array_namespace``). Training, sim2sim and
deploy all build observations through :func:`build_observation`;
:data:`OBSERVATION_TERMS` fixes the order and the contract hash that exported policies
carry.

Frames: "heading frame" = the pelvis frame rotated about world z only (yaw), so that
observations do not depend on where the robot stands or faces in the world.
Rotations are given as the first two columns of their matrix ("6D", continuous).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from common.array_namespace import constant, namespace, readonly
from contract.state import HANDS, KEY_BODIES, HoiState
from robots import g1, quat
from robots.objects import signed_distance

# Bodies whose distance to the object surface is observed (and whose contact is judged).
HOI_BODIES: tuple[str, ...] = HANDS + (
    "torso_link",
    "left_ankle_roll_link",
    "right_ankle_roll_link",
)
HOI_INDEX = readonly([KEY_BODIES.index(b) for b in HOI_BODIES])
HAND_CONTACT = readonly([HOI_BODIES.index(h) for h in HANDS])  # hand columns of distances
CONTACT_DISTANCE = 0.02  # m: closer than this to the object surface counts as touching
GRAVITY = readonly([0.0, 0.0, -1.0])
UP = readonly([0.0, 0.0, 1.0])
FUTURE_OFFSETS = (1, 2, 4, 16)  # control steps ahead: the default reference preview


@dataclass
class ObsInputs:
    state: HoiState
    last_action: np.ndarray  # (N, 29)
    future: list[tuple[HoiState, np.ndarray]]  # reference (state, contacts) per offset
    object_planes: list[np.ndarray]  # convex parts of the object, object frame
    distances: tuple[np.ndarray, np.ndarray] | None = None  # precomputed, see below

    @cached_property
    def object_distances(self) -> tuple[np.ndarray, np.ndarray]:
        """HOI-body signed distances and surface normals (``body_object_distance``)."""
        if self.distances is not None:
            return self.distances
        return body_object_distance(self.state, self.object_planes)

    @cached_property
    def heading_inv(self) -> np.ndarray:
        """(N, 4) world -> heading frame rotation."""
        return quat.conjugate(heading_quat(self.state.root_quat))


def heading_quat(q: np.ndarray) -> np.ndarray:
    yaw = quat.yaw(q)
    return quat.from_axis_angle(constant(UP, yaw), yaw)


def rotate_into(inv: np.ndarray, v: np.ndarray, lead: int = 0) -> np.ndarray:
    """Rotate world vectors (N, ..., 3), or (K, N, ..., 3) with ``lead`` = 1, by
    per-simulation rotations ``inv`` (N, 4), e.g. world -> heading frame."""
    return quat.rotate(inv.reshape(len(inv), *([1] * (v.ndim - lead - 2)), 4), v)


def _to_heading(x: ObsInputs, v: np.ndarray) -> np.ndarray:
    return rotate_into(x.heading_inv, v)


_six_d = quat.first_two_columns


def root_height(x: ObsInputs) -> np.ndarray:
    return x.state.root_pos[:, 2:3]


def projected_gravity_of(root_quat: np.ndarray) -> np.ndarray:
    xp = namespace(root_quat)
    gravity = xp.broadcast_to(constant(GRAVITY, root_quat), (root_quat.shape[0], 3))
    return quat.rotate(quat.conjugate(root_quat), gravity)


def projected_gravity(x: ObsInputs) -> np.ndarray:
    """Gravity direction in the pelvis frame (what an IMU's tilt gives)."""
    return projected_gravity_of(x.state.root_quat)


def root_lin_vel(x: ObsInputs) -> np.ndarray:
    return quat.rotate(quat.conjugate(x.state.root_quat), x.state.root_lin_vel)


def root_ang_vel(x: ObsInputs) -> np.ndarray:
    return x.state.root_ang_vel


def joint_pos(x: ObsInputs) -> np.ndarray:
    return x.state.joint_pos - constant(g1.DEFAULT_POS, x.state.joint_pos)


def joint_vel(x: ObsInputs) -> np.ndarray:
    return x.state.joint_vel


def last_action(x: ObsInputs) -> np.ndarray:
    return x.last_action


def object_state(x: ObsInputs) -> np.ndarray:
    """Object position, orientation, linear and angular velocity in the heading frame."""
    s = x.state
    return namespace(s.object_pos).concat(
        [
            _to_heading(x, s.object_pos - s.root_pos),
            _six_d(quat.multiply(x.heading_inv, s.object_quat)),
            _to_heading(x, s.object_lin_vel),
            _to_heading(x, s.object_ang_vel),
        ],
        axis=1,
    )


def body_object_distance(
    state: HoiState, planes: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance (N, H) of the HOI bodies to the object surface and the outward
    surface normals (N, H, 3) in the world."""
    xp = namespace(state.object_quat)
    inv = quat.conjugate(state.object_quat)[:, None]
    pts = state.body_pos[:, constant(HOI_INDEX, state.body_pos)] - state.object_pos[:, None]
    local = quat.rotate(xp.broadcast_to(inv, (*pts.shape[:-1], 4)), pts)
    dist, normal = signed_distance(planes, local)
    q = xp.broadcast_to(state.object_quat[:, None], (*pts.shape[:-1], 4))
    return dist, quat.rotate(q, normal)


def interaction(x: ObsInputs) -> np.ndarray:
    """Signed distance from the hands, torso and feet to the object surface, and binary
    contact indicators (distance below CONTACT_DISTANCE)."""
    dist, _ = x.object_distances
    xp = namespace(dist)
    return xp.concat([dist, xp.astype(dist < CONTACT_DISTANCE, dist.dtype)], axis=1)


def reference_future(x: ObsInputs) -> np.ndarray:
    """Per future reference frame, its residual to the current state (heading frame):
    root position and orientation, joint angles, key-body positions, object position
    and orientation, and the reference contact labels. All frames at once, (N, F, ...)."""
    s, n = x.state, x.state.root_pos.shape[0]
    xp = namespace(s.root_pos)

    def future(name: str) -> np.ndarray:
        return xp.stack([getattr(ref, name) for ref, _ in x.future], axis=1)

    inv = x.heading_inv[:, None]
    parts = [
        _to_heading(x, future("root_pos") - s.root_pos[:, None]),
        _six_d(quat.multiply(quat.conjugate(s.root_quat)[:, None], future("root_quat"))),
        future("joint_pos") - s.joint_pos[:, None],
        _to_heading(x, future("body_pos") - s.body_pos[:, None]).reshape(n, len(x.future), -1),
        _to_heading(x, future("object_pos") - s.object_pos[:, None]),
        _six_d(
            quat.multiply(
                inv, quat.multiply(future("object_quat"), quat.conjugate(s.object_quat)[:, None])
            )
        ),
        xp.stack([xp.astype(contact, s.root_pos.dtype) for _, contact in x.future], axis=1),
    ]
    return xp.reshape(xp.concat(parts, axis=2), (n, -1))


ObsTerm = Callable[[ObsInputs], np.ndarray]
OBSERVATION_TERMS: tuple[tuple[str, ObsTerm], ...] = (
    ("root_height", root_height),
    ("projected_gravity", projected_gravity),
    ("root_lin_vel", root_lin_vel),
    ("root_ang_vel", root_ang_vel),
    ("joint_pos", joint_pos),
    ("joint_vel", joint_vel),
    ("last_action", last_action),
    ("object_state", object_state),
    ("interaction", interaction),
    ("reference_future", reference_future),
)
FUTURE_SIZE = 3 + 6 + g1.NUM_JOINTS + 3 * len(KEY_BODIES) + 3 + 6 + 5


def term_sizes(num_future: int) -> dict[str, int]:
    return {
        "root_height": 1, "projected_gravity": 3, "root_lin_vel": 3, "root_ang_vel": 3,
        "joint_pos": g1.NUM_JOINTS, "joint_vel": g1.NUM_JOINTS, "last_action": g1.NUM_JOINTS,
        "object_state": 15, "interaction": 2 * len(HOI_BODIES),
        "reference_future": FUTURE_SIZE * num_future,
    }  # fmt: skip


def term_slice(name: str, num_future: int = 0) -> slice:
    """Where term ``name`` sits in the observation."""
    sizes = term_sizes(num_future)
    start = 0
    for term, _ in OBSERVATION_TERMS:
        if term == name:
            return slice(start, start + sizes[term])
        start += sizes[term]
    raise KeyError(f"no observation term {name!r}")


# The terms before the reference future: a Stage 2 policy's proprioception. The
# contract's order makes them a prefix of the observation.
PROPRIO_SIZE = sum(term_sizes(0).values())


def proprioception(obs: np.ndarray) -> np.ndarray:
    return obs[:, :PROPRIO_SIZE]


def build_observation(x: ObsInputs) -> np.ndarray:
    """(N, D) float32 observation, terms in OBSERVATION_TERMS order."""
    xp = namespace(x.state.root_pos)
    return xp.astype(xp.concat([fn(x) for _, fn in OBSERVATION_TERMS], axis=1), xp.float32)


def contract_hash(future_offsets: tuple[int, ...]) -> str:
    """Identifies the observation layout and frames; policies record it at export."""
    sizes = term_sizes(len(future_offsets))
    text = ";".join(f"{n}:{sizes[n]}" for n, _ in OBSERVATION_TERMS)
    text += f"|future={future_offsets}|bodies={KEY_BODIES}|hoi={HOI_BODIES}|joints={g1.JOINT_NAMES}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
