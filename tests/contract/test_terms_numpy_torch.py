"""Every observation, reward and termination term and the goal features, written once,
give the same results on numpy arrays (sim2sim, the robot node) and on torch tensors
(training on a device)."""

from __future__ import annotations

import inspect
from dataclasses import fields

import numpy as np
import pytest
import torch

from common.array_namespace import namespace
from contract import observations as O
from contract import terminations as T
from contract.goals import features as F
from contract.metrics import body_error
from contract.state import HoiState
from robots.objects import ObjectSpec, convex_planes
from tests.states import random_state
from training import rewards as R

N = 6


def to_torch(value, dtype=torch.float64):
    if isinstance(value, HoiState):
        return HoiState(**{f.name: to_torch(getattr(value, f.name), dtype) for f in fields(value)})
    if isinstance(value, tuple):
        return tuple(to_torch(v, dtype) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return torch.tensor(value, dtype=dtype)
    if isinstance(value, np.ndarray):
        return torch.tensor(value)
    return value


def same(numpy_result, torch_result, tol: float = 1e-12) -> None:
    if isinstance(numpy_result, dict):
        assert numpy_result.keys() == torch_result.keys()
        for k in numpy_result:
            same(numpy_result[k], torch_result[k], tol)
        return
    if isinstance(numpy_result, tuple):
        for a, b in zip(numpy_result, torch_result, strict=True):
            same(a, b, tol)
        return
    assert isinstance(torch_result, torch.Tensor), type(torch_result)
    got = torch_result.numpy()
    assert got.shape == np.shape(numpy_result)
    if got.dtype == bool:
        np.testing.assert_array_equal(got, numpy_result)
    else:
        np.testing.assert_allclose(got, numpy_result, rtol=tol, atol=tol, equal_nan=True)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    planes = convex_planes(ObjectSpec("box", "box", (0.4, 0.3, 0.3), mass=2.0))
    state, ref = random_state(N, rng), random_state(N, rng)
    # Hands near the box for some simulations: distances on both sides of the thresholds.
    state.object_pos = state.body_pos[:, 10] + rng.normal(scale=0.15, size=(N, 3))
    future = [(random_state(N, rng), (rng.random((N, 5)) < 0.5).astype(float)) for _ in range(3)]
    contact = (rng.random((N, 5)) < 0.5).astype(float)
    contact[0] = 0.0  # no hand wanted: the grasp reward's zero case
    mask = rng.random((N, 2, F.GOAL_DIM)) < 0.6
    mask[1] = False  # no visible goal: NaN distance
    return dict(
        state=state, ref=ref, planes=planes, future=future, contact=contact, mask=mask,
        last_action=rng.normal(size=(N, 29)), force=rng.normal(size=(N, 29)) * 20,
        lost=rng.integers(0, 15, (N, 2)), due=rng.random(N) < 0.5,
        touching=rng.random((N, 2)) < 0.5, getup=rng.random(N) < 0.5,
        getup_steps=rng.integers(0, 400, N), com_z=rng.random(N),
    )  # fmt: skip


def evaluate_all(x: dict) -> dict:
    """Every term on inputs ``x`` (all numpy or all torch)."""
    s, ref, contact = x["state"], x["ref"], x["contact"]
    obs_in = O.ObsInputs(s, x["last_action"], x["future"], x["planes"])
    dist, normal = O.body_object_distance(s, x["planes"])
    ref_dist, _ = O.body_object_distance(ref, x["planes"])
    rc, tc = R.RewardConfig(), T.TerminationConfig()
    residual = F.goal_residual(s, ref, contact)
    goals = residual[:, None].repeat(2, 1) if isinstance(residual, np.ndarray) else (
        residual[:, None].repeat(1, 2, 1))  # fmt: skip
    out = {f"obs.{name}": fn(obs_in) for name, fn in O.OBSERVATION_TERMS}
    out["obs.build_observation"] = O.build_observation(obs_in)
    out["obs.body_object_distance"] = (dist, normal)
    out["obs.heading_quat"] = O.heading_quat(s.root_quat)
    out["obs.projected_gravity_of"] = O.projected_gravity_of(s.root_quat)
    out["rewards"] = {
        "body_pos_tracking": R.body_pos_tracking(s, ref, rc.sigma_body_pos),
        "body_rot_tracking": R.body_rot_tracking(s, ref, rc.sigma_body_rot),
        "body_vel_tracking": R.body_vel_tracking(s, ref, rc.sigma_body_vel),
        "object_pos_tracking": R.object_pos_tracking(s, ref, rc.sigma_object_pos),
        "object_rot_tracking": R.object_rot_tracking(s, ref, rc.sigma_object_rot),
        "contact_tracking": R.contact_tracking(x["touching"], contact),
        "grasp": R.grasp(s, contact, dist, normal),
        "foot_slip": R.foot_slip(s, contact),
        "hand_object": R.hand_object(s, ref, ref_dist, rc.sigma_hand_object),
        "torso_clearance": R.torso_clearance(s, ref, x["planes"]),
        "joint_limits": R.joint_limits(s, ref),
        "energy": R.energy(x["force"], s.joint_vel),
        "goal_success": R.goal_success(F.goal_distance(goals, x["mask"]), x["due"], 0.3),
        "upright": R.upright(s),
        "com_height": R.com_height(x["com_z"], 0.7),
    }
    causes = T.tracking_causes(s, ref, x["lost"], tc)
    touching = T.hands_touching(dist)
    out["terminations"] = {
        "fallen": T.fallen(s, tc),
        "object_deviated": T.object_deviated(s, ref, tc),
        "robot_deviated": T.robot_deviated(s, ref, tc),
        "hands_touching": touching,
        "count_contact_lost": T.count_contact_lost(x["lost"], touching, contact),
        "contact_lost": T.contact_lost(x["lost"], tc),
        "tracking_causes": causes,
        "with_getup": T.with_getup(causes, x["getup"], x["getup_steps"], 250),
        "standing": T.standing(s, T.GetupConfig()),
        "body_error": body_error(s, ref),
    }
    xp = namespace(s.root_pos)
    frames = HoiState(**{k: xp.stack([vars(f)[k] for f, _ in x["future"]]) for k in vars(s)})
    frame_contact = xp.stack([c for _, c in x["future"]])
    out["goals"] = {
        "goal_residual": residual,
        "goal_distance": F.goal_distance(goals, x["mask"]),
        "goal_residual of frames": F.goal_residual(s, frames, frame_contact),
    }
    return out


def _numpy_inputs_as(inputs: dict, dtype) -> dict:
    x = {k: to_torch(v, dtype) for k, v in inputs.items()}
    x["future"] = [(to_torch(s, dtype), to_torch(c, dtype)) for s, c in inputs["future"]]
    x["planes"] = [to_torch(p, dtype) for p in inputs["planes"]]
    return x


def test_every_term_gives_the_same_result_with_numpy_and_torch(inputs):
    expected = evaluate_all(inputs)
    got = evaluate_all(_numpy_inputs_as(inputs, torch.float64))
    assert expected.keys() == got.keys()
    for key in expected:
        same(expected[key], got[key])
    # The inputs exercise both sides of the thresholds.
    assert 0 < expected["terminations"]["hands_touching"].sum() < 2 * N
    assert np.isnan(expected["goals"]["goal_distance"]).sum() == 1


def test_float32_tensors_stay_float32_and_agree(inputs):
    got = evaluate_all(_numpy_inputs_as(inputs, torch.float32))
    expected = evaluate_all(inputs)
    assert got["obs.build_observation"].dtype == torch.float32
    assert got["rewards"]["grasp"].dtype == torch.float32
    same(expected["obs.build_observation"], got["obs.build_observation"], tol=1e-4)
    same(expected["rewards"], got["rewards"], tol=1e-4)


def test_the_test_covers_every_public_term():
    """A term added to these modules without a numpy/torch check fails here."""
    covered = {"build_observation", "body_object_distance", "heading_quat",
               "projected_gravity_of", "goal_residual", "goal_distance", "body_error"}  # fmt: skip
    terms = {name for name, _ in O.OBSERVATION_TERMS} | {"build_observation"}
    for name, fn in inspect.getmembers(O, inspect.isfunction):
        takes_inputs = list(inspect.signature(fn).parameters.values())[:1]
        if fn.__module__ == O.__name__ and takes_inputs[0].annotation == "ObsInputs":
            assert name in terms or name.startswith("_"), name
    source = inspect.getsource(evaluate_all)
    for module in (R, T):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                assert f"{module.__name__.split('.')[-1][0].upper()}.{name}(" in source, name
    for name in covered:
        assert name in source


def test_the_state_read_from_simulation_fields_is_the_same_with_numpy_and_torch():
    from contract.state import StateIndex
    from robots.scene import build_scene

    box = ObjectSpec("box", "box", (0.4, 0.3, 0.3), mass=2.0)
    model = build_scene([box]).compile()
    rng = np.random.default_rng(0)
    nb = model.nbody
    fields_np = (rng.normal(size=(N, model.nq)), rng.normal(size=(N, model.nv)),
                 rng.normal(size=(N, nb, 3)), rng.normal(size=(N, nb, 4)),
                 rng.normal(size=(N, nb, 6)), rng.normal(size=(N, nb, 3)))  # fmt: skip
    index = StateIndex(model, "box")
    expected = index.read(*fields_np)
    got = index.read(*(torch.tensor(f) for f in fields_np))
    for f in fields(HoiState):
        same(getattr(expected, f.name), getattr(got, f.name))
    # The state owns its arrays: changing the fields afterwards does not change it.
    before = expected.root_pos.copy()
    fields_np[0][:] = 0.0
    np.testing.assert_array_equal(expected.root_pos, before)


def test_rotations_from_tensor_axes_as_from_numpy_ones():
    from robots import quat

    rng = np.random.default_rng(2)
    axis, angle = rng.normal(size=(N, 3)), rng.normal(size=N)
    same(quat.from_axis_angle(axis, angle),
         quat.from_axis_angle(torch.tensor(axis), torch.tensor(angle)))  # fmt: skip
