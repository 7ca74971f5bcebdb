import numpy as np

from retarget.contacts import foot_contact, segments
from retarget.synthetic import LIFT_IN_PLACE, SyntheticConfig, synthetic_motion
from robots import quat


def bone(m, a, b):
    return np.linalg.norm(m.joint(a) - m.joint(b), axis=1)


def test_bones_are_rigid(synthetic):
    for a, b in (("L_Hip", "L_Knee"), ("L_Knee", "L_Ankle"), ("R_Shoulder", "R_Elbow"),
                 ("R_Elbow", "R_Wrist"), ("Pelvis", "Head")):  # fmt: skip
        lengths = bone(synthetic, a, b)
        assert np.ptp(lengths) < 1e-9, (a, b)


def test_stance_feet_do_not_slide(synthetic):
    ankle = synthetic.joint("L_Ankle")
    stance = foot_contact(ankle[:, None], synthetic.fps, 0.05, 0.01, 3)
    assert stance.sum() > 0.5 * synthetic.num_frames
    for a, b in segments(stance):
        assert np.ptp(ankle[a:b, :2], axis=0).max() < 0.02


def test_hands_hold_the_box_sides(synthetic):
    held = synthetic.contacts[:, synthetic.index("L_Wrist")] > 0
    assert 30 < held.sum() < synthetic.num_frames
    local = quat.rotate(
        quat.conjugate(synthetic.object_quat[held]),
        synthetic.joint("L_Wrist")[held] - synthetic.object_pos[held],
    )
    half = synthetic.object.size[1] / 2
    np.testing.assert_allclose(local[:, 1], half + 0.03, atol=1e-6)  # on the left side
    # The box moves only while held, and ends on the floor at the destination.
    z = synthetic.object_pos[:, 2]
    assert z.max() > 0.8 and abs(z[-1] - synthetic.object.size[2] / 2) < 1e-9
    np.testing.assert_allclose(synthetic.object_pos[-1, :2], SyntheticConfig().place_xy, atol=1e-6)


def test_parameters_change_the_motion():
    m = synthetic_motion(
        SyntheticConfig(height=1.5, box_size=(0.2, 0.25, 0.2), place_xy=(3.0, -1.0))
    )
    assert abs(np.median(bone(m, "L_Hip", "L_Knee")) - 0.42 * 1.5 / 1.75) < 1e-9
    assert m.object.size == (0.2, 0.25, 0.2)
    np.testing.assert_allclose(m.object_pos[-1, :2], (3.0, -1.0), atol=1e-6)


def test_lift_in_place_takes_no_step():
    m = synthetic_motion(LIFT_IN_PLACE)
    assert abs(m.num_frames / m.fps - 5.0) < 0.05  # stand, pick, place, stand
    for foot in ("L_Ankle", "R_Ankle"):
        assert np.ptp(m.joint(foot)[:, :2], axis=0).max() < 1e-6  # feet never move
    z = m.object_pos[:, 2]
    assert z.max() > 0.8  # lifted
    np.testing.assert_allclose(m.object_pos[[0, -1]], m.object_pos[[0, 0]], atol=1e-6)  # back


def test_lift_in_place_keeps_the_g1_balanced():
    """The retargeted lift keeps the G1's centre of mass over its feet (a reference no
    controller can follow without falling is useless for training)."""
    import mujoco

    from retarget.pipeline import retarget
    from robots.scene import build_scene

    clip = retarget(synthetic_motion(LIFT_IN_PLACE)).clip
    model = build_scene([clip.object]).compile()
    data = mujoco.MjData(model)
    pelvis, feet = model.body("pelvis").id, [model.body(f"{s}_ankle_roll_link").id
                                             for s in ("left", "right")]  # fmt: skip
    ahead = []
    for q in clip.qpos()[::3]:
        data.qpos[: len(q)] = q
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        ahead.append(data.subtree_com[pelvis, 0] - data.xpos[feet, 0].mean())
    assert min(ahead) > -0.05 and max(ahead) < 0.1  # between heel and toes, m
