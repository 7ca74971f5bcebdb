"""DDS participants bound to one named network interface, and the G1's topics.

Never binds all interfaces silently: the caller names the interface (``lo`` for the
virtual G1, the NIC wired to the robot otherwise). Domain 0 is the real robot's;
simulations conventionally use another (here 1 by default).

Topics are declared with the ``unitree_hg`` IDL types (``unitree_sdk2py``'s own classes
when it is installed), so the robot matches them, but samples travel as the numpy
records of ``deploy.protocol.messages``: written and taken as CDR bytes through
cyclonedds' C layer (pinned cyclonedds 11.0.1), skipping its per-field Python
(de)serializer, which alone cost most of a 2 ms control period.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import numpy as np
from cyclonedds._clayer import ddspy_take, ddspy_write
from cyclonedds.core import DDSException, InstanceState, Listener, SampleState, ViewState
from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

from deploy.protocol.messages import LOWCMD_LAYOUT, LOWSTATE_LAYOUT, Layout, MessageError
from deploy.protocol.tracking import TRACKED_LAYOUT, FlatLayout, TrackedPose_

try:  # the SDK's classes when present: the same type names and wire format as ours
    from unitree_sdk2py.idl.unitree_hg.msg.dds_ import LowCmd_, LowState_
except ImportError:
    from deploy.protocol.unitree_hg import LowCmd_, LowState_

LOWCMD = "rt/lowcmd"
LOWSTATE = "rt/lowstate"
ROBOT_DOMAIN = 0
SIM_DOMAIN = 1
_IDL_TYPES = {
    LOWCMD_LAYOUT.name: LowCmd_,
    LOWSTATE_LAYOUT.name: LowState_,
    TRACKED_LAYOUT.name: TrackedPose_,
}
_ANY = SampleState.Any | ViewState.Any | InstanceState.Any


def domain_xml(interface: str) -> str:
    return (
        '<CycloneDDS><Domain Id="any"><General><Interfaces>'
        f'<NetworkInterface name="{interface}" priority="default" multicast="default"/>'
        "</Interfaces></General></Domain></CycloneDDS>"
    )


class MessageWriter:
    """Writes numpy message records of one layout to a topic."""

    def __init__(self, writer: DataWriter, layout: Layout):
        self._writer, self.layout = writer, layout

    def write(self, msg: np.ndarray) -> None:
        ret = ddspy_write(self._writer._ref, self.layout.to_cdr(msg))
        if ret < 0:
            raise DDSException(ret, f"writing a {self.layout.name}")


def require_interface(interface: str) -> None:
    """Refuse a network interface this machine does not have, naming those it has."""
    names = [name for _, name in socket.if_nameindex()]
    if interface not in names:
        raise ValueError(
            f"no network interface {interface!r} on this machine (there are: "
            f"{', '.join(names)}); name the NIC wired to the robot, or 'lo' for the "
            "virtual G1"
        )


class Channel:
    def __init__(self, domain_id: int, interface: str):
        if not interface or not interface.replace("-", "").replace(".", "").isalnum():
            raise ValueError(
                "name the network interface (e.g. 'lo' for the virtual G1, or the NIC wired "
                f"to the robot); got {interface!r}. Binding all interfaces is refused."
            )
        require_interface(interface)
        try:
            self.domain = Domain(domain_id, domain_xml(interface))
        except DDSException as e:
            raise ValueError(f"cannot join DDS domain {domain_id} on {interface!r}: {e}") from None
        self.participant = DomainParticipant(domain_id)
        self._topics: dict[str, Topic] = {}
        # Readers and writers live as long as the channel (a dropped reader stops listening).
        self._entities: list = []

    def _topic(self, name: str, layout: Layout | FlatLayout) -> Topic:
        if name not in self._topics:
            self._topics[name] = Topic(self.participant, name, _IDL_TYPES[layout.name])
        return self._topics[name]

    def writer(self, name: str, layout: Layout | FlatLayout) -> MessageWriter:
        writer = DataWriter(self.participant, self._topic(name, layout))
        self._entities.append(writer)
        return MessageWriter(writer, layout)

    def reader(
        self,
        name: str,
        layout: Layout | FlatLayout,
        on_sample: Callable[[np.ndarray], None],
        on_malformed: Callable[[MessageError], None] | None = None,
    ) -> DataReader:
        """A reader calling ``on_sample(msg)`` from a DDS thread for every sample, and
        ``on_malformed(error)`` for samples that do not decode (default: dropped)."""

        def on_data_available(reader):
            samples = ddspy_take(reader._ref, _ANY, 16)
            if isinstance(samples, int):
                raise DDSException(samples, f"taking {layout.name} samples")
            for data, info in samples:
                if not info.valid_data:  # a writer leaving: no data
                    continue
                try:
                    msg = layout.from_cdr(data)
                except MessageError as e:
                    if on_malformed is not None:
                        on_malformed(e)
                    continue
                on_sample(msg)

        reader = DataReader(
            self.participant,
            self._topic(name, layout),
            listener=Listener(on_data_available=on_data_available),
        )
        self._entities.append(reader)
        return reader
