"""The robustness sweep: each perturbation changes what it claims, read back from the
simulation (contact friction, motor and joint forces, weights, the start); a neutral
condition reproduces the default report exactly; the grids are well formed."""

import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import mujoco
import numpy as np
import pytest

from contract.policy import Policy
from robots.clip import load_clip
from sim2sim.harness import Sim2Sim, Sim2SimSettings
from sim2sim.perturbation import Perturbation
from sim2sim.sweep import GRIDS, Args, Condition, sweep

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "sim2sim/policies/stage1_lift.onnx"
CLIP = REPO / "sim2sim/policies/stage1_lift_clip.npz"
HELD = 107  # a control step (50 Hz) where both hand capsules press on the box


@pytest.fixture(scope="module")
def lift():
    return Policy.load(POLICY), load_clip(CLIP)


def started(lift, frame=0, start="clip", **perturb):
    """A harness with ``perturb``, reset to ``frame``, the robot pressed 3 mm into the
    floor and moving, every derived quantity computed."""
    policy, clip = lift
    sim = Sim2Sim(policy, clip, Sim2SimSettings(start=start, perturb=Perturbation(**perturb)))
    sim.reset(frame)
    sim.data.qpos[2] -= 0.003
    sim.data.qvel[:] = np.random.default_rng(0).normal(scale=0.5, size=sim.model.nv)
    mujoco.mj_forward(sim.model, sim.data)
    return sim


def friction(sim, a: str, b: str) -> np.ndarray:
    """The friction of every contact between geoms of kinds ``a`` and ``b`` (a geom's
    kind: hand, foot, or its name)."""

    def kind(g):
        name = sim.model.geom(g).name
        return next((k for k in ("hand", "foot") if k in name), name)

    d = sim.data
    out = [c.friction[0] for c in d.contact[: d.ncon] if {kind(c.geom1), kind(c.geom2)} == {a, b}]
    assert out, f"no {a}-{b} contact"
    return np.array(out)


def test_friction_perturbations_are_the_contacts_own(lift):
    nominal = started(lift, HELD)
    np.testing.assert_allclose(friction(nominal, "hand", "box_geom"), lift[1].object.friction)
    for value in (0.5, 1.2):  # below and above the robot's own 1.0
        sim = started(lift, HELD, object_friction=value, floor_friction=value / 2)
        np.testing.assert_allclose(friction(sim, "hand", "box_geom"), value)
        np.testing.assert_allclose(friction(sim, "foot", "floor"), value / 2)
    sim = started(lift, 0, floor_friction=0.3)  # the box resting on the floor
    sim.data.qpos[sim.index.obj_q + 2] -= 0.003
    mujoco.mj_forward(sim.model, sim.data)
    np.testing.assert_allclose(friction(sim, "box_geom", "floor"), 0.3)


def test_drive_perturbations_act_in_the_step(lift):
    nominal = started(lift, HELD)
    sim = started(lift, HELD, kp_scale=0.9, torque_scale=0.5, joint_damping=0.05,
                  joint_frictionloss=0.2, armature=0.01)  # fmt: skip
    m, d = sim.model, sim.data
    q, v = d.qpos[sim.index.joint_q], d.qvel[6:35]
    kp, kd = 0.9 * lift[0].kp, lift[0].kd
    limit = 0.5 * lift[0].effort_limit
    np.testing.assert_allclose(d.actuator_force, np.clip(kp * (d.ctrl - q) - kd * v, -limit, limit))
    assert np.abs(d.actuator_force).max() > np.abs(nominal.data.actuator_force).max() * 0.3
    np.testing.assert_allclose(d.qfrc_damper[6:35], -0.05 * v)
    rows = d.efc_type[: d.nefc] == mujoco.mjtConstraint.mjCNSTR_FRICTION_DOF
    np.testing.assert_allclose(d.efc_frictionloss[: d.nefc][rows], 0.2)
    assert rows.sum() == 29 and not nominal.data.efc_type[: nominal.data.nefc].tolist().count(
        mujoco.mjtConstraint.mjCNSTR_FRICTION_DOF
    )
    np.testing.assert_allclose(m.dof_armature[6:35], 0.01)


def test_mass_perturbations_weigh_on_the_free_joints(lift):
    def weights(sim):
        data = mujoco.MjData(sim.model)  # at rest in the air: gravity alone
        mujoco.mj_forward(sim.model, data)
        return data.qfrc_bias[2], data.qfrc_bias[sim.index.obj_v + 2]

    robot, box = weights(started(lift))
    assert weights(started(lift, torso_mass=1.8))[0] == pytest.approx(robot + 1.8 * 9.81)
    assert weights(started(lift, link_mass_scale=1.1))[0] == pytest.approx(1.1 * robot)
    assert weights(started(lift, object_mass_scale=0.7))[1] == pytest.approx(0.7 * box)


def test_the_object_starts_where_the_perturbation_puts_it(lift):
    def start(**perturb):
        sim = started(lift, **perturb)
        s = sim.index.from_mjdata(sim.data)
        return s.root_pos[0], s.object_pos[0], s.object_quat[0], sim

    root, obj, q, _ = start()
    toward = (obj - root)[:2] / np.linalg.norm((obj - root)[:2])
    _, farther, _, _ = start(object_distance=0.03)
    np.testing.assert_allclose(farther[:2] - obj[:2], 0.03 * toward, atol=1e-9)
    _, left, _, _ = start(object_side=0.03)
    np.testing.assert_allclose(left[:2] - obj[:2], 0.03 * np.array([-toward[1], toward[0]]),
                               atol=1e-9)  # fmt: skip
    _, _, turned, _ = start(object_yaw=0.2)
    from robots import quat

    assert quat.yaw(turned) - quat.yaw(q) == pytest.approx(0.2)
    _, bigger, _, sim = start(object_size_scale=1.1)
    size = np.array(lift[1].object.size)
    g = sim.model.geom("box_geom").id
    np.testing.assert_allclose(sim.model.geom_size[g], 1.1 * size / 2)
    assert bigger[2] - obj[2] == pytest.approx(0.1 * size[2] / 2)  # still on the floor


def test_a_standing_start_is_the_default_pose_at_the_clips_place_held_as_the_node_holds(lift):
    """Set down in the default pose where the clip starts, then held on the stand gains
    as the node holds it before the policy: settled and drifted a few cm, the clock at 0,
    the policy's gains back."""
    from robots import g1, quat

    policy, clip = lift

    def standing(hold_s: float) -> Sim2Sim:
        sim = Sim2Sim(policy, clip, Sim2SimSettings(start="standing", hold_s=hold_s))
        sim.reset(0)
        return sim

    placed = standing(0.0)
    ix = placed.index
    np.testing.assert_allclose(placed.data.qpos[ix.joint_q], g1.DEFAULT_POS)
    np.testing.assert_allclose(placed.data.qpos[:2], clip.root_pos[0, :2])
    assert quat.yaw(placed.data.qpos[3:7]) == pytest.approx(quat.yaw(clip.root_quat[0]))
    held = standing(1.0)
    drift = np.linalg.norm(held.data.qpos[:2] - clip.root_pos[0, :2])
    assert 0.01 < drift < 0.08 and np.abs(held.data.qvel).max() < 0.5
    assert np.abs(held.data.qpos[ix.joint_q] - g1.DEFAULT_POS).max() < 0.1
    assert held.data.time == 0.0
    np.testing.assert_allclose(held.targets, g1.DEFAULT_POS)
    np.testing.assert_allclose(held.model.actuator_gainprm[:, 0], held.policy.kp)


def test_every_perturbation_field_is_on_an_axis_of_the_full_grid():
    moved = {path for c in GRIDS["full"] for path, _ in c.changes}
    for f in fields(Perturbation):
        assert f"perturb.{f.name}" in moved, f.name
    base = Sim2SimSettings()
    for c in GRIDS["full"]:
        assert (c.settings(base) == base) == (c.factor == "default"), c
    with pytest.raises(ValueError, match="no setting 'kp'"):
        Condition("bad", "-", (("perturb.kp", 1.0),)).settings(base)


def test_a_neutral_condition_reproduces_the_default_report(tmp_path):
    report = tmp_path / "default.json"
    subprocess.run([sys.executable, str(REPO / "sim2sim/run_mujoco.py"), "--policy", str(POLICY),
                    "--motion", str(CLIP), "--episodes", "2", "--seed", "3", "--report",
                    str(report)], check=True, capture_output=True)  # fmt: skip
    expected = json.loads(report.read_text())
    grid = [Condition("default", "-"), Condition("kp", "0.5x", (("perturb.kp_scale", 0.5),))]
    result = sweep(Args(POLICY, CLIP, tmp_path, episodes=2, seed=3), grid)
    default, weak = result["conditions"]
    for key in ("success_rate", "E_h_cm", "E_o_cm", "fall_rate", "max_torque_nm"):
        assert default[key] == expected[key], key
    assert weak["E_h_cm"] != default["E_h_cm"]
    assert result["held"] == sum(r["success_rate"] >= 0.8 for r in result["conditions"])


def test_the_sweep_command_writes_its_table_plot_and_json(tmp_path, monkeypatch):
    import sim2sim.sweep as S

    grid = [Condition("default", "-"), Condition("kp", "0.5x", (("perturb.kp_scale", 0.5),))]
    monkeypatch.setitem(S.GRIDS, "acceptance", grid)
    monkeypatch.setattr(S, "run_condition", lambda *a: {
        **dict.fromkeys(("E_h_cm", "E_o_cm", "fall_rate", "max_torque_nm"), 0.0),
        "success_rate": 1.0, "joint_limit_hits": 0, "ended_by": ["end"]})  # fmt: skip
    monkeypatch.setattr(S, "ProcessPoolExecutor", _Inline)
    monkeypatch.setattr(sys, "argv", ["sweep", "--policy", str(POLICY), "--motion", str(CLIP),
                                      "--out", str(tmp_path), "--episodes", "1"])  # fmt: skip
    S.main()
    assert json.loads((tmp_path / "sweep.json").read_text())["score"] == 1.0
    assert "| default | - | 100% |" in (tmp_path / "sweep.md").read_text()
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_sweep_input_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sim2sim.sweep", "--policy", str(tmp_path / "x"),
                          "--motion", str(CLIP), "--out", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 2 and out.stderr.startswith("error:")
    assert not any(tmp_path.iterdir())


class _Inline:
    def __init__(self, *a, **k):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def submit(self, fn, *args):
        value = fn(*args)
        return type("Done", (), {"result": lambda self: value})()
