import pytest

from retarget.synthetic import SyntheticConfig, synthetic_motion


@pytest.fixture(scope="session")
def synthetic():
    return synthetic_motion()


@pytest.fixture(scope="session")
def short_synthetic():
    """A shorter walk for fast end-to-end tests."""
    return synthetic_motion(SyntheticConfig(start=(0.6, 0.0), place_xy=(2.2, 0.0)))
