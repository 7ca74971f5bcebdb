import mujoco
import numpy as np
import pytest

from robots.objects import OMOMO_MASSES, omomo_object
from robots.scene import build_scene


@pytest.mark.parametrize("name", sorted(OMOMO_MASSES))
def test_omomo_object_builds_and_simulates_2s(shared, name):
    obj = omomo_object(name, root=shared / "data/interact_omomo/objects")
    if name in ("smallbox", "suitcase"):
        assert obj.shape == "points"  # only sample_points.npy exists for these
    model = build_scene([obj]).compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    for _ in range(int(2.0 / model.opt.timestep)):
        mujoco.mj_step(model, data)
    assert np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()
    assert model.body_mass[model.body(name).id] == pytest.approx(OMOMO_MASSES[name], rel=1e-5)
    assert data.qpos[-5] > -0.05  # the object did not fall through the floor


def test_unknown_omomo_object():
    with pytest.raises(KeyError, match="unknown OMOMO object"):
        omomo_object("piano")
