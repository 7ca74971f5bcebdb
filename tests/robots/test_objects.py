import mujoco
import numpy as np
import pytest
import trimesh

from robots.objects import ObjectSpec, add_object, bounds, convex_parts, surface_points
from robots.scene import Placement, build_scene


def compile_one(obj: ObjectSpec) -> mujoco.MjModel:
    spec = mujoco.MjSpec()
    add_object(spec, obj)
    return spec.compile()


@pytest.mark.parametrize(
    ("obj", "volume"),
    [
        (ObjectSpec("b", "box", (0.3, 0.4, 0.2), density=100.0), 0.3 * 0.4 * 0.2),
        (ObjectSpec("c", "cylinder", (0.1, 0.5), density=100.0), np.pi * 0.01 * 0.5),
        (ObjectSpec("s", "sphere", (0.2,), density=100.0), 4 / 3 * np.pi * 0.008),
    ],
)
def test_primitive_mass_from_density(obj, volume):
    model = compile_one(obj)
    assert model.body_mass[1] == pytest.approx(100.0 * volume, rel=1e-6)


def test_given_mass_wins_over_geometry():
    model = compile_one(ObjectSpec("cap", "capsule", (0.05, 0.3), mass=2.5))
    assert model.body_mass[1] == pytest.approx(2.5, rel=1e-6)


@pytest.mark.parametrize("suffix", [".obj", ".stl"])
def test_mesh_object_keeps_its_frame(tmp_path, suffix):
    # A box whose file coordinates are offset from the origin: the object frame is the
    # file's frame, so the collision geometry must stay where the file puts it.
    mesh = trimesh.creation.box((0.2, 0.3, 0.1))
    mesh.apply_translation((0.5, 0.0, 0.05))
    path = tmp_path / f"box{suffix}"
    mesh.export(path)
    obj = ObjectSpec("m", "mesh", path=str(path), mass=1.0)
    lo, hi = bounds(obj)
    np.testing.assert_allclose(lo, [0.4, -0.15, 0.0], atol=1e-6)
    np.testing.assert_allclose(hi, [0.6, 0.15, 0.1], atol=1e-6)
    model = compile_one(obj)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    np.testing.assert_allclose(data.xipos[1], [0.5, 0.0, 0.05], atol=1e-6)  # centre of mass
    assert model.body_mass[1] == pytest.approx(1.0, rel=1e-6)


def test_point_cloud_becomes_convex_hull(tmp_path):
    pts = trimesh.creation.icosphere(radius=0.1).vertices
    path = tmp_path / "points.npy"
    np.save(path, pts)
    obj = ObjectSpec("p", "points", path=str(path), density=1000.0)
    ((verts, faces),) = convex_parts(obj)
    assert len(faces) > 20 and np.abs(np.linalg.norm(verts, axis=1) - 0.1).max() < 1e-9
    assert compile_one(obj).body_mass[1] == pytest.approx(1000 * 4 / 3 * np.pi * 1e-3, rel=0.05)
    assert surface_points(obj, 64).shape == (64, 3)


def test_convex_decomposition_splits_a_concave_mesh(tmp_path):
    # An L-shaped block: its convex hull would fill the inner corner.
    a = trimesh.creation.box((0.4, 0.1, 0.1))
    b = trimesh.creation.box((0.1, 0.4, 0.1))
    a.apply_translation((0.15, 0, 0))
    b.apply_translation((0, 0.15, 0))
    path = tmp_path / "ell.obj"
    trimesh.util.concatenate([a, b]).export(path)
    parts = convex_parts(ObjectSpec("ell", "mesh", path=str(path), mass=1.0, collision="decompose"))
    assert len(parts) >= 2
    hull = convex_parts(ObjectSpec("ell", "mesh", path=str(path), mass=1.0))
    assert len(hull) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(name="b", shape="box", size=(0.3, 0.4)), "needs size of 3"),
        (dict(name="b", shape="box", size=(0.3, 0.4, -1.0), mass=1.0), "positive"),
        (dict(name="b", shape="box", size=(0.3, 0.4, 0.2)), "exactly one of mass and density"),
        (dict(name="b", shape="box", size=(0.3, 0.4, 0.2), mass=1, density=1), "exactly one"),
        (dict(name="b", shape="cone", size=(1.0,), mass=1.0), "unknown shape"),
        (dict(name="m", shape="mesh", mass=1.0), "needs a path"),
        (dict(name="b c", shape="sphere", size=(0.1,), mass=1.0), "alphanumeric"),
        (dict(name="b", shape="sphere", size=(0.1,), mass=float("nan")), "mass must be > 0"),
    ],
)
def test_bad_object_specs_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ObjectSpec(**kwargs)


def test_bad_geometry_files_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        convex_parts(ObjectSpec("m", "mesh", path=str(tmp_path / "nope.obj"), mass=1.0))
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((10, 2)))
    with pytest.raises(ValueError, match=r"\(N >= 4, 3\)"):
        convex_parts(ObjectSpec("p", "points", path=str(bad), mass=1.0))
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((10, 3), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        convex_parts(ObjectSpec("p", "points", path=str(nan), mass=1.0))
    junk = tmp_path / "junk.obj"
    junk.write_text("this is not a mesh\n")
    with pytest.raises(ValueError, match="mesh"):
        convex_parts(ObjectSpec("m", "mesh", path=str(junk), mass=1.0))


def test_json_round_trip_and_relative_paths(tmp_path):
    obj = ObjectSpec("m", "points", path="pts.npy", mass=2.0, friction=0.7)
    again = ObjectSpec.from_json(obj.to_json(), base_dir=tmp_path)
    assert again == obj
    assert again.base_dir == str(tmp_path)
    np.save(tmp_path / "pts.npy", np.random.default_rng(0).normal(size=(50, 3)))
    assert again.resolved_path() == tmp_path / "pts.npy"
    with pytest.raises(ValueError, match="JSON"):
        ObjectSpec.from_json("{not json")
    with pytest.raises(ValueError, match="bad fields"):
        ObjectSpec.from_json('{"name": "x", "shape": "box", "colour": 1}')


def test_scene_with_several_objects_and_placements():
    objs = [
        ObjectSpec("box", "box", (0.3, 0.4, 0.3), mass=5.0),
        ObjectSpec("ball", "sphere", (0.1,), mass=0.5, friction=0.5),
    ]
    spec = build_scene(objs, placements=[None, Placement((1.0, 1.0, 0.5))])
    model = spec.compile()
    assert model.nq == 36 + 14 and model.nu == 29
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    np.testing.assert_allclose(data.qpos[43:46], [1.0, 1.0, 0.5])
    assert data.qpos[38] == pytest.approx(0.15 + 1e-3)  # box resting on the floor
    assert model.geom("ball_geom").friction[0] == 0.5
    for _ in range(200):
        mujoco.mj_step(model, data)
    assert np.isfinite(data.qpos).all()
    with pytest.raises(ValueError, match="unique"):
        build_scene([objs[0], objs[0]])
