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
