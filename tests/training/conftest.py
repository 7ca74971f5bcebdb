import pytest

from retarget.pipeline import retarget
from retarget.synthetic import SyntheticConfig, synthetic_motion


@pytest.fixture(scope="session")
def clip():
    """A retargeted synthetic G1 clip (walk, lift, carry, put down)."""
    return retarget(synthetic_motion(SyntheticConfig(start=(0.6, 0.0), place_xy=(2.2, 0.0)))).clip
