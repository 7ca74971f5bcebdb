"""The motion-service release check: asked through the SDK where it is installed (in a
process of its own), declared by the operator where it is not, not needed on loopback."""

import os
import sys

import pytest

from deploy.motion_service import MotionServiceError, check_released
from deploy.protocol.channel import Channel

# A stand-in ``unitree_sdk2py``: its channel factory creates the process's DDS domain with
# a configuration of its own, as the SDK's does, and its motion switcher answers what
# FAKE_SWITCHER says ("code,name"), recording its calls in FAKE_CALLS.
FAKE_CHANNEL = """
import os
from cyclonedds.domain import Domain

def ChannelFactoryInitialize(domain, net):
    global _domain
    _domain = Domain(domain, "<CycloneDDS><Domain Id='any'><General><Interfaces>"
                     "<NetworkInterface name='lo'/></Interfaces></General></Domain></CycloneDDS>")
    with open(os.environ["FAKE_CALLS"], "a") as f:
        f.write(f"channel {domain} {net}\\n")
"""
FAKE_SWITCHER = """
import os

class MotionSwitcherClient:
    def SetTimeout(self, seconds):
        pass

    def Init(self):
        pass

    def CheckMode(self):
        code, name = os.environ["FAKE_SWITCHER"].split(",")
        with open(os.environ["FAKE_CALLS"], "a") as f:
            f.write("check\\n")
        return int(code), {"name": name, "form": "0"}
"""


@pytest.fixture
def fake_sdk(tmp_path, monkeypatch):
    """Install the stand-in SDK for this process and its children; the calls' file."""
    root = tmp_path / "sdk"
    files = {
        "unitree_sdk2py/__init__.py": "",
        "unitree_sdk2py/core/__init__.py": "",
        "unitree_sdk2py/core/channel.py": FAKE_CHANNEL,
        "unitree_sdk2py/comm/__init__.py": "",
        "unitree_sdk2py/comm/motion_switcher/__init__.py": "",
        "unitree_sdk2py/comm/motion_switcher/motion_switcher_client.py": FAKE_SWITCHER,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), *sys.path]))
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    return calls


def no_sdk(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)


def test_loopback_needs_no_check(monkeypatch):
    no_sdk(monkeypatch)
    assert "virtual G1" in check_released("lo", 1, declared=False)


def test_without_the_sdk_the_release_must_be_declared(monkeypatch):
    no_sdk(monkeypatch)
    with pytest.raises(MotionServiceError, match="--motion-service-released"):
        check_released("eth0", 0, declared=False)
    assert "declared" in check_released("eth0", 0, declared=True)


def test_with_the_sdk_a_released_service_passes_and_the_node_joins_the_domain(
    fake_sdk, monkeypatch
):
    """The SDK's domain lives in the check's own process: the node's channel joins the
    same domain afterwards (in the node's process the SDK's would refuse it)."""
    monkeypatch.setenv("FAKE_SWITCHER", "0,")
    assert "checked" in check_released("eth0", 7, declared=False)
    assert fake_sdk.read_text().split("\n")[:2] == ["channel 7 eth0", "check"]
    Channel(7, "lo")


@pytest.mark.parametrize(("answer", "match"), [("0,ai", "'ai' still controls"),
                                               ("3104,", "did not answer")])  # fmt: skip
def test_with_the_sdk_an_active_or_silent_service_is_refused(fake_sdk, monkeypatch, answer,
                                                             match):  # fmt: skip
    monkeypatch.setenv("FAKE_SWITCHER", answer)
    with pytest.raises(MotionServiceError, match=match):
        check_released("eth0", 0, declared=True)  # a declaration does not override an answer


def test_an_sdk_that_fails_is_a_refusal_with_its_reason(fake_sdk, monkeypatch):
    monkeypatch.delenv("FAKE_SWITCHER", raising=False)  # the stand-in raises KeyError
    with pytest.raises(MotionServiceError, match="failed: KeyError"):
        check_released("eth0", 0, declared=True)


def test_the_real_sdk_asks_in_its_own_process_and_the_node_joins_after():
    """With Unitree's SDK installed from its source (docs/deployment.md: ``--no-deps``
    beside this project's cyclonedds): no switcher answers on loopback, and the node's
    channel still joins the domain the SDK initialized in the check's process."""
    pytest.importorskip("unitree_sdk2py")
    from deploy.motion_service import ask_switcher

    code, _ = ask_switcher("lo", 8)
    assert code != 0  # nobody to answer: the SDK's timeout code
    Channel(8, "lo")
