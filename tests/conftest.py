import os
from pathlib import Path

import pytest

import robots  # noqa: F401  (chooses the GL backend before any test module imports mujoco)

REPO = Path(__file__).resolve().parents[1]


def shared_path() -> Path:
    return Path(os.environ.get("G1HOI_SHARED", REPO.parent / "shared"))


@pytest.fixture
def shared() -> Path:
    """The team's reference data folder (../shared); tests using it skip without it."""
    path = shared_path()
    if not (path / "assets" / "unitree_g1" / "g1.xml").is_file():
        pytest.skip(f"reference data folder {path} not present")
    return path


@pytest.fixture(scope="session")
def clip():
    """A retargeted synthetic G1 clip (walk, lift, carry, put down)."""
    from retarget.pipeline import retarget
    from retarget.synthetic import SyntheticConfig, synthetic_motion

    return retarget(synthetic_motion(SyntheticConfig(start=(0.6, 0.0), place_xy=(2.2, 0.0)))).clip


@pytest.fixture(scope="session")
def clip_file(tmp_path_factory, clip) -> Path:
    return clip.save(tmp_path_factory.mktemp("clip") / "clip.npz")


@pytest.fixture(scope="session")
def stage1_run(tmp_path_factory, clip, clip_file) -> Path:
    """A tiny Stage 1 run (one iteration) on ``clip_file``."""
    from tests import tiny
    from training.stage1 import train

    run = tmp_path_factory.mktemp("stage1") / "run"
    train(tiny.stage1(clip_file), run, [clip], quiet=True)
    return run


@pytest.fixture(scope="session")
def stage2_run(tmp_path_factory, clip, clip_file) -> Path:
    """A tiny Stage 2 run (one iteration, the bundled Stage 1 policy as the expert)."""
    from tests import tiny
    from training.stage2 import train

    run = tmp_path_factory.mktemp("stage2") / "run"
    train(tiny.stage2(REPO / "tests/fixtures/stage1_synthetic.onnx", clip_file), run, [clip],
          quiet=True)  # fmt: skip
    return run
