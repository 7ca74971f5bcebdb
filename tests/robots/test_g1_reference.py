"""The generated G1 against the reference MJCF (mjlab's asset) and against its own URDF."""

import mujoco
import numpy as np
import pinocchio as pin
import pytest

from robots import g1, quat
from robots.g1.mjcf import g1_spec
from robots.g1.urdf import g1_urdf

N_CONFIGS = 1000


def random_qpos(model: mujoco.MjModel, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = np.zeros((n, model.nq))
    q[:, :3] = rng.uniform(-1, 1, (n, 3))
    q[:, 3:7] = quat.normalize(rng.normal(size=(n, 4)))
    lo, hi = model.jnt_range[1:, 0], model.jnt_range[1:, 1]
    q[:, 7:] = rng.uniform(lo, hi, (n, len(lo)))
    return q


def body_positions(model: mujoco.MjModel, qpos: np.ndarray, names) -> np.ndarray:
    data = mujoco.MjData(model)
    ids = [model.body(n).id for n in names]
    out = np.empty((len(qpos), len(ids), 3))
    for i, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        out[i] = data.xpos[ids]
    return out


def inertia_tensor(model: mujoco.MjModel, body: int) -> np.ndarray:
    r = quat.to_matrix(model.body_iquat[body])
    return r @ np.diag(model.body_inertia[body]) @ r.T


@pytest.fixture(scope="module")
def ours() -> mujoco.MjModel:
    return g1_spec(actuators=False).compile()


def test_generated_mjcf_matches_reference(shared, ours):
    ref = mujoco.MjModel.from_xml_path(str(shared / "assets/unitree_g1/g1.xml"))
    assert ref.nbody == ours.nbody and ref.nq == ours.nq
    # Joints map by name: the qpos layouts must agree name by name.
    for j in range(1, ours.njnt):
        assert ref.joint(j).name == ours.joint(j).name
        np.testing.assert_allclose(ref.jnt_range[j], ours.jnt_range[j], rtol=0, atol=1e-12)
    qpos = random_qpos(ours, N_CONFIGS)
    names = g1.BODY_NAMES
    err = np.abs(body_positions(ref, qpos, names) - body_positions(ours, qpos, names)).max()
    assert err < 1e-6, f"max body position difference {err:.3g} m"
    assert ours.body_mass.sum() == pytest.approx(ref.body_mass.sum(), rel=1e-6)
    for name in names:
        a, b = ref.body(name).id, ours.body(name).id
        assert ours.body_mass[b] == pytest.approx(ref.body_mass[a], rel=1e-6), name
        ia, ib = inertia_tensor(ref, a), inertia_tensor(ours, b)
        assert np.abs(ia - ib).max() <= 1e-6 * np.abs(ia).max(), name
        np.testing.assert_allclose(ours.body_ipos[b], ref.body_ipos[a], atol=1e-9, err_msg=name)


def test_urdf_matches_mjcf_in_pinocchio(ours):
    model = pin.buildModelFromXML(g1_urdf(), pin.JointModelFreeFlyer())
    data = model.createData()
    # Joint names and limits, by name.
    for i, name in enumerate(g1.JOINT_NAMES):
        jid = model.getJointId(name)
        idx = model.joints[jid].idx_q
        assert model.lowerPositionLimit[idx] == pytest.approx(g1.JOINT_LOWER[i])
        assert model.upperPositionLimit[idx] == pytest.approx(g1.JOINT_UPPER[i])
        assert model.effortLimit[model.joints[jid].idx_v] == pytest.approx(g1.EFFORT_LIMIT[i])
        assert model.velocityLimit[model.joints[jid].idx_v] == pytest.approx(g1.VELOCITY_LIMIT[i])
    qpos = random_qpos(ours, N_CONFIGS, seed=1)
    names = g1.BODY_NAMES
    frames = [model.getFrameId(n, pin.BODY) for n in names]
    mj = body_positions(ours, qpos, names)
    err = 0.0
    for i, q in enumerate(qpos):
        qp = np.empty(model.nq)
        qp[:3] = q[:3]
        qp[3:7] = quat.wxyz_to_xyzw(q[3:7])
        for k, name in enumerate(g1.JOINT_NAMES):
            qp[model.joints[model.getJointId(name)].idx_q] = q[7 + k]
        pin.framesForwardKinematics(model, data, qp)
        pos = np.array([data.oMf[f].translation for f in frames])
        err = max(err, np.abs(pos - mj[i]).max())
    assert err < 1e-6, f"max body position difference {err:.3g} m"
    total = sum(model.inertias[j].mass for j in range(1, model.njoints))
    assert total == pytest.approx(ours.body_mass.sum(), rel=1e-6)
    for name in names:
        b = ours.body(name).id
        jid = model.frames[model.getFrameId(name, pin.BODY)].parentJoint
        inertia = model.inertias[jid]
        assert inertia.mass == pytest.approx(ours.body_mass[b], rel=1e-6), name
        np.testing.assert_allclose(inertia.lever, ours.body_ipos[b], atol=1e-9, err_msg=name)
        ref = inertia_tensor(ours, b)
        assert np.abs(inertia.inertia - ref).max() <= 1e-6 * np.abs(ref).max(), name
