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

RELEASE_HOWTO = (
    "release it first with the robot hung or lying (remote: L2+R2, debug mode; or the "
    "SDK's motion switcher ReleaseMode)"
)


class MotionServiceError(RuntimeError):
    pass


def check_released(net: str, domain: int, declared: bool) -> str:
    """How the release was established (for the session log); raises
    :class:`MotionServiceError` when low-level commands must not be sent."""
    if net == "lo":
        return "loopback interface: no motion service (virtual G1)"
    try:
        from unitree_sdk2py.comm.motion_switcher.motion_switcher_client import (
            MotionSwitcherClient,
        )
        from unitree_sdk2py.core.channel import ChannelFactoryInitialize
    except ImportError:
        if declared:
            return "declared released (--motion-service-released); unitree_sdk2py absent"
        raise MotionServiceError(
            "cannot check that Unitree's motion service has released the motors "
            "(unitree_sdk2py is not installed): " + RELEASE_HOWTO + ", then pass "
            "--motion-service-released"
        ) from None
    ChannelFactoryInitialize(domain, net)
    client = MotionSwitcherClient()
    client.SetTimeout(5.0)
    client.Init()
    code, result = client.CheckMode()
    if code != 0:
        raise MotionServiceError(f"the motion switcher did not answer CheckMode (code {code})")
    name = (result or {}).get("name", "")
    if name:
        raise MotionServiceError(
            f"Unitree's motion service {name!r} still controls the motors: " + RELEASE_HOWTO
        )
    return "released (checked through the SDK's motion switcher)"
