import pytest

from deploy.protocol.channel import Channel

# One DDS domain for every test of the session: cyclonedds supports one Domain config
# per id and process, and the node tests' processes run one after another.
TEST_DOMAIN = 61


@pytest.fixture(scope="session")
def channel() -> Channel:
    return Channel(TEST_DOMAIN, "lo")
