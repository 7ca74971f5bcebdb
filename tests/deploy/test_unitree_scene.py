"""The scene for Unitree's simulator puts the clip's object where the clip has it
relative to the robot's first pose, in the frame that simulator stands the robot in."""

import subprocess
import sys

import mujoco
import numpy as np
import pytest

from deploy.unitree_scene import ROBOT_SCENE, scene_xml
from robots import quat
from robots.clip import load_clip

CLIP = "sim2sim/policies/stage1_lift_standing_clip.npz"
# A stand-in for unitree_mujoco's scene: a floor and a robot at the origin facing +x.
STAND_IN = """<mujoco><worldbody><geom name="floor" type="plane" size="0 0 0.05"/>
<body name="pelvis" pos="0 0 0.793"><freejoint/><geom type="sphere" size="0.1"/></body>
</worldbody></mujoco>"""


def test_the_object_stands_where_the_clip_has_it_relative_to_the_robot(tmp_path):
    (tmp_path / ROBOT_SCENE).write_text(STAND_IN)
    clip = load_clip(CLIP)
    (tmp_path / "scene.xml").write_text(scene_xml(clip, tmp_path))
    model = mujoco.MjModel.from_xml_path(str(tmp_path / "scene.xml"))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    x, y, heading = clip.start_place()
    turn = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), -heading)
    expected = quat.rotate(turn, clip.object_pos[0] - np.array([x, y, clip.object_pos[0][2]]))
    box = data.body(clip.object.name)
    np.testing.assert_allclose(box.xpos[:2], expected[:2], atol=1e-5)
    assert box.xpos[2] == pytest.approx(clip.object_pos[0][2], abs=1e-5)
    assert model.body(clip.object.name).mass[0] == pytest.approx(clip.object.mass, rel=1e-3)


def test_a_folder_without_unitrees_scene_is_one_line_of_error(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "deploy.unitree_scene", "--motion", CLIP, "--g1-dir", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode != 0
    assert run.stderr.strip().splitlines() == [
        f"error: no {ROBOT_SCENE} in {tmp_path} (unitree_robots/g1)"
    ]
    assert list(tmp_path.iterdir()) == []
