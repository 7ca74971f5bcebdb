import numpy as np
import pytest
import torch

from retarget.motion import MotionError
from retarget.readers import read_motion
from retarget.readers.generic import write_generic
from retarget.readers.omomo import smpl_forward_kinematics
from retarget.skeleton import INTERACT_JOINTS, SMPL_JOINTS
from robots import quat


@pytest.fixture
def objects(tmp_path):
    """A minimal InterAct object folder: largebox as a point cloud."""
    folder = tmp_path / "objects" / "largebox"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.save(folder / "sample_points.npy", rng.uniform(-0.2, 0.2, (200, 3)))
    return tmp_path / "objects"


def interact_tensor(t: int = 12) -> torch.Tensor:
    a = np.zeros((t, 591), np.float32)
    a[:, 2] = 1.0
    a[:, 6] = 1.0  # root quat xyzw identity
    a[:, 162:318] = np.tile(np.linspace(0, 1, 156), (t, 1))
    a[:, 318:321] = [0.5, 0.0, 0.2]
    a[:, 324] = 1.0  # object quat xyzw identity
    a[:, 383:591] = np.tile([0, 0, 0, 1], 52)
    a[:, 331 + INTERACT_JOINTS.index("L_Wrist")] = 1
    return torch.from_numpy(a)


def test_interact_file(tmp_path, objects):
    path = tmp_path / "sub1_largebox_000.pt"
    torch.save(interact_tensor(), path)
    m = read_motion(path, objects_root=objects)
    assert m.fps == 30.0 and m.num_frames == 12 and m.joint_names == INTERACT_JOINTS
    assert m.object.name == "largebox" and m.object.shape == "points"
    np.testing.assert_allclose(m.object_quat, np.tile([1.0, 0, 0, 0], (12, 1)))  # xyzw -> wxyz
    np.testing.assert_allclose(m.rotations[0, 0], [1.0, 0, 0, 0])
    assert m.contacts[0, INTERACT_JOINTS.index("L_Wrist")] == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: interact_tensor()[:, :500], r"\(T >= 2, 591\)"),
        (lambda: interact_tensor()[:1], r"\(T >= 2, 591\)"),
        (lambda: interact_tensor().index_fill(1, torch.tensor([170]), float("nan")), "NaN"),
        (lambda: {"not": "a tensor"}, "expected one tensor"),
    ],
)
def test_bad_interact_files(tmp_path, objects, make, message):
    path = tmp_path / "sub1_largebox_000.pt"
    torch.save(make(), path)
    with pytest.raises(MotionError, match=message):
        read_motion(path, objects_root=objects)


def test_truncated_interact_file(tmp_path, objects):
    path = tmp_path / "sub1_largebox_000.pt"
    torch.save(interact_tensor(), path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(MotionError, match="cannot read"):
        read_motion(path, objects_root=objects)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_motion(tmp_path / "none.pt")
    other = tmp_path / "x.bvh"
    other.write_text("HIERARCHY")
    with pytest.raises(MotionError, match="unsupported"):
        read_motion(other)


def test_generic_round_trip_and_y_up(tmp_path, synthetic):
    path = write_generic(synthetic, tmp_path / "m.npz")
    back = read_motion(path)
    np.testing.assert_allclose(back.positions, synthetic.positions)
    assert back.object == synthetic.object and back.joint_names == synthetic.joint_names
    # The same motion stored y-up reads back z-up.
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    to_y = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # inverse of the reader's y->z turn
    arrays["positions"] = synthetic.positions @ to_y.T
    arrays["object_pos"] = synthetic.object_pos @ to_y.T
    arrays["object_quat"] = quat.multiply(
        [np.sqrt(0.5), -np.sqrt(0.5), 0, 0], synthetic.object_quat
    )
    arrays["up_axis"] = np.array("y")
    np.savez(tmp_path / "y.npz", **arrays)
    ybk = read_motion(tmp_path / "y.npz")
    np.testing.assert_allclose(ybk.positions, synthetic.positions, atol=1e-9)
    np.testing.assert_allclose(ybk.object_quat, synthetic.object_quat, atol=1e-9)


def test_generic_missing_field(tmp_path, synthetic):
    path = write_generic(synthetic, tmp_path / "m.npz")
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files if k != "object_pos"}
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(MotionError, match="'object_pos' is missing"):
        read_motion(tmp_path / "bad.npz")


def omomo_arrays(t: int = 8) -> dict:
    rng = np.random.default_rng(1)
    offsets = rng.normal(scale=0.1, size=(24, 3))
    return dict(
        trans=np.tile([0.0, 0.0, 1.0], (t, 1)),
        root_orient=np.zeros((t, 3)),
        pose_body=np.zeros((t, 63)),
        rest_offsets=offsets,
        trans2joint=np.array([0.0, 0.0, 0.1]),
        obj_trans=np.tile([[0.5], [0.0], [0.2]], (t, 1, 1)),
        obj_rot=np.tile(np.eye(3), (t, 1, 1)),
        obj_scale=np.ones(t),
        seq_name=np.array("sub3_largebox_001"),
    )


def test_omomo_forward_kinematics(tmp_path):
    d = omomo_arrays()
    np.savez(tmp_path / "seq.npz", **d)
    (tmp_path / "largebox_cleaned_simplified.obj").write_text(
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n"
    )
    m = read_motion(tmp_path / "seq.npz")
    assert m.joint_names == SMPL_JOINTS and m.object.name == "largebox"
    # Zero rotations: each joint = root + sum of rest offsets along its chain.
    root = np.array([0.0, 0.0, 0.9])
    np.testing.assert_allclose(m.joint("Pelvis")[0], root)
    knee = root + d["rest_offsets"][1] + d["rest_offsets"][4]
    np.testing.assert_allclose(m.joint("L_Knee")[0], knee)
    # A 90 degree root turn about z rotates every offset.
    rot = np.zeros((1, 22, 3))
    rot[0, 0] = [0, 0, np.pi / 2]
    pos, _ = smpl_forward_kinematics(root[None], rot, d["rest_offsets"])
    off = d["rest_offsets"][1]
    np.testing.assert_allclose(pos[0, 1] - root, [-off[1], off[0], off[2]], atol=1e-12)


def test_omomo_bad_fields(tmp_path):
    d = omomo_arrays()
    d["pose_body"] = np.zeros((8, 60))
    np.savez(tmp_path / "seq.npz", **d)
    with pytest.raises(MotionError, match="pose_body"):
        read_motion(tmp_path / "seq.npz")


def test_real_interact_clip(shared):
    path = shared / "data/interact_omomo/motions/sub2_largetable_000.pt"
    m = read_motion(path, objects_root=shared / "data/interact_omomo/objects")
    assert m.num_frames == 153 and m.object.name == "largetable"
    assert 0.9 < m.joint("Pelvis")[0, 2] < 1.2  # z-up, metres
