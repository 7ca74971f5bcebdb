"""The motion-service release check: asked through the SDK where it is installed,
declared by the operator where it is not, not needed on loopback."""

import sys
import types

import pytest

from deploy.motion_service import MotionServiceError, check_released


def fake_sdk(monkeypatch, code: int, name: str) -> list:
    """A stand-in ``unitree_sdk2py`` whose motion switcher answers ``(code, {name})``."""
    calls = []

    class Client:
        def SetTimeout(self, seconds):
            calls.append(("timeout", seconds))

        def Init(self):
            calls.append(("init",))

        def CheckMode(self):
            calls.append(("check",))
            return code, {"name": name, "form": "0"}

    def initialize(domain, net):
        calls.append(("channel", domain, net))

    switcher = types.ModuleType("motion_switcher_client")
    switcher.MotionSwitcherClient = Client
    channel = types.ModuleType("channel")
    channel.ChannelFactoryInitialize = initialize
    for name_, module in {
        "unitree_sdk2py": types.ModuleType("unitree_sdk2py"),
        "unitree_sdk2py.comm": types.ModuleType("comm"),
        "unitree_sdk2py.comm.motion_switcher": types.ModuleType("motion_switcher"),
        "unitree_sdk2py.comm.motion_switcher.motion_switcher_client": switcher,
        "unitree_sdk2py.core": types.ModuleType("core"),
        "unitree_sdk2py.core.channel": channel,
    }.items():
        monkeypatch.setitem(sys.modules, name_, module)
    return calls


def no_sdk(monkeypatch):
    monkeypatch.setitem(sys.modules, "unitree_sdk2py", None)  # import fails


def test_loopback_needs_no_check(monkeypatch):
    no_sdk(monkeypatch)
    assert "virtual G1" in check_released("lo", 1, declared=False)


def test_without_the_sdk_the_release_must_be_declared(monkeypatch):
    no_sdk(monkeypatch)
    with pytest.raises(MotionServiceError, match="--motion-service-released"):
        check_released("eth0", 0, declared=False)
    assert "declared" in check_released("eth0", 0, declared=True)


def test_with_the_sdk_a_released_service_passes(monkeypatch):
    calls = fake_sdk(monkeypatch, 0, "")
    assert "checked" in check_released("eth0", 0, declared=False)
    assert calls[0] == ("channel", 0, "eth0") and ("check",) in calls


@pytest.mark.parametrize(("code", "name", "match"), [(0, "ai", "'ai' still controls"),
                                                     (3104, "", "did not answer")])  # fmt: skip
def test_with_the_sdk_an_active_or_silent_service_is_refused(monkeypatch, code, name, match):
    fake_sdk(monkeypatch, code, name)
    with pytest.raises(MotionServiceError, match=match):
        check_released("eth0", 0, declared=True)  # a declaration does not override an answer
