import mujoco
import numpy as np
import pytest

from robots import g1
from robots.g1.mjcf import SimOptions, g1_spec
from robots.scene import build_scene


@pytest.fixture(scope="module")
def model() -> mujoco.MjModel:
    return g1_spec().compile()


def test_actuators_drive_joints_in_motor_order(model):
    assert model.nu == 29
    kp, kd = g1.gains("tracking")
    for i, name in enumerate(g1.JOINT_NAMES):
        assert model.joint(model.actuator_trnid[i, 0]).name == name
        assert model.actuator_gainprm[i, 0] == pytest.approx(kp[i])
        assert model.actuator_biasprm[i, 1] == pytest.approx(-kp[i])
        assert model.actuator_biasprm[i, 2] == pytest.approx(-kd[i])
        np.testing.assert_allclose(
            model.actuator_forcerange[i], [-g1.EFFORT_LIMIT[i], g1.EFFORT_LIMIT[i]]
        )
        np.testing.assert_allclose(
            model.actuator_ctrlrange[i], [g1.JOINT_LOWER[i], g1.JOINT_UPPER[i]]
        )
        assert model.dof_armature[model.jnt_dofadr[model.actuator_trnid[i, 0]]] == g1.ARMATURE[i]


def test_rl_simulation_settings(model):
    assert model.opt.timestep == 0.005
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    # The contact model shared with sim2sim and the virtual G1, solved to convergence.
    assert model.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC and model.opt.impratio == 10.0
    assert model.opt.iterations == 50 and model.opt.ls_iterations == 50
    assert model.narena == SimOptions().memory_bytes == 2 << 20  # not MuJoCo's ~15 MiB


def test_sites_and_sensors(model):
    for site in (
        "imu_in_pelvis",
        "imu_in_torso",
        "left_foot",
        "right_foot",
        "left_palm",
        "right_palm",
    ):
        assert model.site(site).id >= 0
    assert model.site("imu_in_pelvis").bodyid[0] == model.body("pelvis").id
    for sensor in ("imu_quat", "imu_gyro", "imu_acc"):
        assert model.sensor(sensor).id >= 0


def test_exported_xml_round_trips():
    spec = g1_spec()
    text = spec.to_xml()
    reloaded = mujoco.MjModel.from_xml_string(text)
    original = spec.compile()
    data_a, data_b = mujoco.MjData(original), mujoco.MjData(reloaded)
    for m, d in ((original, data_a), (reloaded, data_b)):
        mujoco.mj_resetDataKeyframe(m, d, 0)
        d.qpos[7:] += 0.1
        mujoco.mj_kinematics(m, d)
    np.testing.assert_allclose(data_a.xpos, data_b.xpos, atol=1e-9)
    # MJCF text keeps 6 significant digits
    np.testing.assert_allclose(original.actuator_gainprm, reloaded.actuator_gainprm, rtol=1e-5)


def test_visual_meshes_from_official_folder(shared):
    model = g1_spec(mesh_dir=shared / "assets/unitree_g1/assets").compile()
    assert model.nmesh == 35
    assert model.body_mass.sum() == pytest.approx(g1_spec().compile().body_mass.sum())


def test_missing_mesh_folder_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="lacks"):
        g1_spec(mesh_dir=tmp_path)


def test_stands_for_10s_under_pd_alone():
    """Default pose on the floor, stand gains, no policy: the pelvis must not sag > 2 cm."""
    model = build_scene(gains="stand").compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.mj_forward(model, data)
    z0 = data.qpos[2]
    feet0 = np.array([data.site(f).xpos[:2].copy() for f in ("left_foot", "right_foot")])
    heights, slide, sway = [], 0.0, 0.0
    for _ in range(int(10.0 / model.opt.timestep)):
        mujoco.mj_step(model, data)
        heights.append(data.qpos[2])
        feet = np.array([data.site(f).xpos[:2] for f in ("left_foot", "right_foot")])
        slide = max(slide, np.linalg.norm(feet - feet0, axis=1).max())
        sway = max(sway, np.linalg.norm(data.qpos[:2]))
    drift = np.abs(np.array(heights) - z0).max()
    assert drift < 0.02, f"pelvis height drifted {drift:.4f} m"
    assert slide < 0.005, f"feet slid {slide:.4f} m"  # did not walk or slide away
    assert sway < 0.05  # the pelvis sways a few cm over planted feet (PD alone)
    upright = 1 - 2 * (data.qpos[4] ** 2 + data.qpos[5] ** 2)  # z-axis alignment of pelvis
    assert upright > 0.99


def test_mujoco_warnings_go_to_stderr_once_and_no_log_file_is_written(tmp_path):
    import subprocess
    import sys

    code = """
import mujoco
import numpy as np
from robots.scene import build_scene
m = build_scene().compile()
d = mujoco.MjData(m)
for _ in range(3):
    d.qvel[0] = np.nan
    mujoco.mj_step(m, d)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("MuJoCo warning: Nan, Inf or huge value in QVEL") == 1
    assert not list(tmp_path.iterdir())  # MuJoCo's own handler writes MUJOCO_LOG.TXT here
