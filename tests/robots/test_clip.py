import numpy as np
import pytest

from robots import g1, quat
from robots.clip import CONTACT_NAMES, REQUIRED, ClipError, MotionClip, load_clip
from robots.demo import demo_clip
from robots.objects import ObjectSpec

BOX = ObjectSpec("box", "box", (0.3, 0.3, 0.3), mass=2.0)


def make_clip(t: int = 10, fps: float = 30.0) -> MotionClip:
    ident = np.tile([1.0, 0, 0, 0], (t, 1))
    return MotionClip(
        fps=fps,
        root_pos=np.tile([0.0, 0.0, g1.DEFAULT_ROOT_HEIGHT], (t, 1)),
        root_quat=ident,
        joint_pos=np.tile(g1.DEFAULT_POS, (t, 1)),
        object_pos=np.tile([0.6, 0.0, 0.15], (t, 1)),
        object_quat=ident,
        object=BOX,
        contact=np.zeros((t, len(CONTACT_NAMES))),
        source={"test": True},
    )


@pytest.fixture
def clip_file(tmp_path):
    return make_clip().save(tmp_path / "clip.npz")


def rewrite(path, **changes):
    """Copy a clip file with some arrays replaced (None deletes the key)."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    out = path.with_name("changed.npz")
    np.savez(out, **arrays)
    return out


def test_round_trip(clip_file):
    clip = load_clip(clip_file)
    ref = make_clip()
    np.testing.assert_allclose(clip.joint_pos, ref.joint_pos, atol=1e-6)
    assert clip.object == BOX and clip.source == {"test": True} and clip.fps == 30.0
    # Readable by plain numpy, no project code and no pickle.
    with np.load(clip_file, allow_pickle=False) as raw:
        assert raw["root_quat"].shape == (10, 4) and str(raw["schema"]) == "g1hoi.clip"


@pytest.mark.parametrize("field", REQUIRED)
def test_missing_field_is_named(clip_file, field):
    with pytest.raises(ClipError, match=f"'{field}' is missing"):
        load_clip(rewrite(clip_file, **{field: None}))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("joint_pos", np.zeros((10, 28)), "shape"),
        ("root_pos", np.zeros((9, 3)), "9 frames"),
        ("object_quat", np.zeros((10, 3)), "shape"),
        ("contact", np.zeros((10, 4)), "shape"),
        ("root_pos", np.full((10, 3), np.nan), "NaN"),
        ("object_pos", np.where(np.arange(30).reshape(10, 3) == 13, np.inf, 0.0), "frame 4"),
        ("root_quat", np.tile([2.0, 0, 0, 0], (10, 1)), "unit quaternion"),
        ("object_quat", np.tile([0.7, 0, 0, 0], (10, 1)), "unit quaternion"),
        ("root_pos", np.tile([0.0, 0.0, 780.0], (10, 1)), "metres"),
        ("joint_pos", np.full((10, 29), 20.0), "radians"),
        ("fps", np.array(-30.0), "fps"),
        ("fps", np.array([30.0, 30.0]), "scalar"),
        ("contact", np.full((10, 5), 2), "0 or 1"),
        ("schema", np.array("other"), "schema"),
        ("version", np.array(99), "v99"),
        ("object", np.array("{bad"), "object"),
        ("object", np.array('{"name": "b", "shape": "box", "size": [1, 1], "mass": 1}'), "size"),
        ("source", np.array("{bad"), "source"),
        ("joint_names", np.array(["left_toe_joint", *g1.JOINT_NAMES[1:]]), "left_toe_joint"),
        ("root_pos", np.array(["a"] * 30).reshape(10, 3), "numeric"),
    ],
)
def test_bad_field_is_named(clip_file, field, value, message):
    with pytest.raises(ClipError, match=field) as err:
        load_clip(rewrite(clip_file, **{field: value}))
    assert message in str(err.value)


def test_joint_columns_are_mapped_by_name(clip_file):
    clip = make_clip()
    perm = np.random.default_rng(0).permutation(29)
    joint_pos = clip.joint_pos + np.arange(29) * 0.01
    path = rewrite(
        clip_file,
        joint_names=np.array(g1.JOINT_NAMES)[perm],
        joint_pos=joint_pos[:, perm].astype(np.float32),
    )
    np.testing.assert_allclose(load_clip(path).joint_pos, joint_pos, atol=1e-6)


def test_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ClipError, match="not a readable"):
        load_clip(bad)
    with pytest.raises(FileNotFoundError):
        load_clip(tmp_path / "none.npz")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = make_clip().save(tmp_path / "clip.npz")
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", explode)
    with pytest.raises(OSError, match="disk full"):
        make_clip(t=20).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.npz"]


def test_constructor_validates_too():
    with pytest.raises(ClipError, match="root_quat"):
        MotionClip(**{**make_clip().__dict__, "root_quat": np.zeros((10, 4))})


def test_derived_velocities():
    t = 31
    clip = make_clip(t=t, fps=30.0)
    time = np.arange(t) / 30.0
    speed = np.linspace(-1, 1, 29)
    rate = 0.8  # rad/s about z
    q = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), rate * time)
    clip = MotionClip(
        **{
            **clip.__dict__,
            "joint_pos": g1.DEFAULT_POS + np.outer(time, speed) * 0.1,
            "root_pos": clip.root_pos + np.outer(time, [0.5, 0.0, 0.0]),
            "object_quat": q,
        }
    )
    np.testing.assert_allclose(clip.joint_vel(), np.tile(0.1 * speed, (t, 1)), atol=1e-9)
    np.testing.assert_allclose(clip.root_lin_vel(), np.tile([0.5, 0, 0], (t, 1)), atol=1e-9)
    np.testing.assert_allclose(clip.object_ang_vel(), np.tile([0, 0, rate], (t, 1)), atol=1e-9)


def test_body_positions_by_forward_kinematics():
    clip = demo_clip(duration=1.0)
    pos = clip.body_pos()
    assert pos.shape == (clip.num_frames, len(g1.BODY_NAMES), 3)
    np.testing.assert_allclose(pos[:, 0], clip.root_pos, atol=1e-12)  # pelvis = root
    feet = [g1.BODY_NAMES.index(f"{s}_ankle_roll_link") for s in ("left", "right")]
    assert np.ptp(pos[:, feet], axis=0).max() < 1e-9  # the demo keeps both feet planted
    assert clip.body_quat().shape == (clip.num_frames, len(g1.BODY_NAMES), 4)
    assert clip.body_lin_vel().shape == pos.shape


def test_slice_and_contact_lookup():
    clip = make_clip(t=10)
    part = clip.slice(2, 6)
    assert part.num_frames == 4
    assert not part.contact_of("left_hand").any()
    with pytest.raises(KeyError, match="unknown contact"):
        clip.contact_of("nose")


def test_a_human_motion_or_checkpoint_is_refused_with_what_to_do(tmp_path):
    import torch

    torch.save(torch.zeros(3, 591), tmp_path / "sub1_largebox_000.pt")
    with pytest.raises(ClipError, match=r"PyTorch file .* retarget human motion first"):
        load_clip(tmp_path / "sub1_largebox_000.pt")
    np.savez(tmp_path / "human.npz", fps=30.0, positions=np.zeros((3, 22, 3)))
    with pytest.raises(ClipError, match=r"retargeted to G1 clips first \(`python -m retarget"):
        load_clip(tmp_path / "human.npz")


def test_a_lead_in_starts_standing_and_joins_the_first_frame():
    clip = make_clip(5)
    turned = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(0.7))
    bent = quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.array(0.2))
    first = np.tile(quat.multiply(turned, bent), (5, 1))
    crouched = MotionClip(**{**clip.__dict__, "root_quat": first,
                             "root_pos": np.tile([0.5, 0.2, 0.6], (5, 1)),
                             "joint_pos": np.tile(g1.DEFAULT_POS + 0.3, (5, 1)),
                             "contact": np.ones((5, len(CONTACT_NAMES)))})  # fmt: skip
    led = crouched.with_lead_in(1.0)
    n = led.num_frames - 5
    assert n == 30 and led.source["lead_in_s"] == 1.0
    np.testing.assert_allclose(led.joint_pos[0], g1.DEFAULT_POS)
    np.testing.assert_allclose(led.root_pos[0], [0.5, 0.2, g1.DEFAULT_ROOT_HEIGHT])
    assert quat.yaw(led.root_quat[0]) == pytest.approx(0.7)
    np.testing.assert_allclose(led.root_quat[0, 1:3], 0.0, atol=1e-12)  # level
    np.testing.assert_allclose(led.joint_pos[: n // 4], led.joint_pos[:1].repeat(n // 4, 0))
    steps = np.abs(np.diff(led.joint_pos[: n + 1], axis=0)).max()
    assert steps < 0.3 / n * 2  # smooth, and it reaches the first frame
    np.testing.assert_allclose(led.object_pos[:n], crouched.object_pos[:1].repeat(n, 0))
    assert not led.contact[:n, :2].any() and led.contact[:n, 2:].all()
    with pytest.raises(ValueError, match="lead-in"):
        crouched.with_lead_in(0.0)
