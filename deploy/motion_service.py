"""Unitree's built-in motion service must have released the motors before the node sends
low-level commands: both writing ``rt/lowcmd`` fight over the joints.

Where ``unitree_sdk2py`` is installed the node asks the robot's motion switcher
(``CheckMode``: an empty mode name means released), as the SDK's G1 examples do. It does
not release the service itself: a standing robot whose service is released falls, so
that is the operator's step (remote ``L2+R2``, debug mode, with the robot hung or
lying). Without the SDK the node cannot ask and refuses unless the operator declares the
release with ``--motion-service-released``. On the loopback interface (the virtual G1)
there is no motion service.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

RELEASE_HOWTO = (
    "release it first with the robot hung or lying (remote: L2+R2, debug mode; or the "
    "SDK's motion switcher ReleaseMode)"
)
ASK_TIMEOUT = 20.0  # s for the SDK's process: its start, DDS discovery and the 5 s call


class MotionServiceError(RuntimeError):
    pass


def check_released(net: str, domain: int, declared: bool) -> str:
    """How the release was established (for the session log); raises
    :class:`MotionServiceError` when low-level commands must not be sent."""
    if net == "lo":
        return "loopback interface: no motion service (virtual G1)"
    if importlib.util.find_spec("unitree_sdk2py") is None:
        if declared:
            return "declared released (--motion-service-released); unitree_sdk2py absent"
        raise MotionServiceError(
            "cannot check that Unitree's motion service has released the motors "
            "(unitree_sdk2py is not installed): " + RELEASE_HOWTO + ", then pass "
            "--motion-service-released"
        )
    code, name = ask_switcher(net, domain)
    if code != 0:
        raise MotionServiceError(f"the motion switcher did not answer CheckMode (code {code})")
    if name:
        raise MotionServiceError(
            f"Unitree's motion service {name!r} still controls the motors: " + RELEASE_HOWTO
        )
    return "released (checked through the SDK's motion switcher)"


def ask_switcher(net: str, domain: int) -> tuple[int, str]:
    """The motion switcher's ``CheckMode`` answer (code, mode name), asked in a process of
    its own: the SDK's ``ChannelFactoryInitialize`` creates the process's DDS domain with
    its own configuration, which the node's channel then could not join."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "deploy.motion_service", net, str(domain)],
            capture_output=True, text=True, timeout=ASK_TIMEOUT,
            cwd=Path(__file__).resolve().parents[1],  # the repository: deploy importable
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise MotionServiceError(
            f"the motion switcher did not answer within {ASK_TIMEOUT:g} s"
        ) from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise MotionServiceError(f"asking the motion switcher through the SDK failed: {why}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return int(answer["code"]), str(answer["name"])


def _ask(net: str, domain: int) -> None:
    """Print the switcher's answer as one JSON line (the SDK's side of ``ask_switcher``)."""
    from unitree_sdk2py.comm.motion_switcher.motion_switcher_client import (
        MotionSwitcherClient,
    )
    from unitree_sdk2py.core.channel import ChannelFactoryInitialize

    ChannelFactoryInitialize(domain, net)
    client = MotionSwitcherClient()
    client.SetTimeout(5.0)
    client.Init()
    code, result = client.CheckMode()
    print(json.dumps({"code": code, "name": (result or {}).get("name", "")}), flush=True)


if __name__ == "__main__":
    _ask(sys.argv[1], int(sys.argv[2]))
