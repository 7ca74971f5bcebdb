"""DDS participants bound to one named network interface, and the G1's topics.

Never binds all interfaces silently: the caller names the interface (``lo`` for the
virtual G1, the NIC wired to the robot otherwise). Domain 0 is the real robot's;
simulations conventionally use another (here 1 by default)."""

from __future__ import annotations

from collections.abc import Callable

from cyclonedds.core import Listener
from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.internal import InvalidSample
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

LOWCMD = "rt/lowcmd"
LOWSTATE = "rt/lowstate"
ROBOT_DOMAIN = 0
SIM_DOMAIN = 1


def domain_xml(interface: str) -> str:
    return (
        '<CycloneDDS><Domain Id="any"><General><Interfaces>'
        f'<NetworkInterface name="{interface}" priority="default" multicast="default"/>'
        "</Interfaces></General></Domain></CycloneDDS>"
    )


class Channel:
    def __init__(self, domain_id: int, interface: str):
        if not interface or not interface.replace("-", "").replace(".", "").isalnum():
            raise ValueError(
                "name the network interface (e.g. 'lo' for the virtual G1, or the NIC wired "
                f"to the robot); got {interface!r}. Binding all interfaces is refused."
            )
        self.domain = Domain(domain_id, domain_xml(interface))
        self.participant = DomainParticipant(domain_id)
        self._topics: dict[str, Topic] = {}
        # Readers and writers live as long as the channel (a dropped reader stops listening).
        self._entities: list = []

    def _topic(self, name: str, data_type) -> Topic:
        if name not in self._topics:
            self._topics[name] = Topic(self.participant, name, data_type)
        return self._topics[name]

    def writer(self, name: str, data_type) -> DataWriter:
        writer = DataWriter(self.participant, self._topic(name, data_type))
        self._entities.append(writer)
        return writer

    def reader(self, name: str, data_type, on_sample: Callable | None = None) -> DataReader:
        """A reader; ``on_sample(msg)`` is called from a DDS thread for every sample."""
        listener = None
        if on_sample is not None:

            def on_data_available(reader):
                for sample in reader.take(N=16):
                    # A writer leaving shows up as an InvalidSample (no data): skip it.
                    if not isinstance(sample, InvalidSample):
                        on_sample(sample)

            listener = Listener(on_data_available=on_data_available)
        reader = DataReader(self.participant, self._topic(name, data_type), listener=listener)
        self._entities.append(reader)
        return reader
