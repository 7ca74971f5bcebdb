"""The tracker topic: poses of the object and, where the tracker sees it, of the robot's
pelvis, from an external tracker (motion capture, vision) to the robot node.

One sample per body and capture, on ``rt/g1hoi/tracked_pose``, type
``g1hoi.msg.dds_.TrackedPose_`` (IDL below). Poses are in the world frame the policy's
reference clip uses (z up, metres), quaternions (w, x, y, z):

    module g1hoi { module msg { module dds_ {
      @final struct TrackedPose_ {
        double stamp;          // capture time on the tracker's clock, s
        double position[3];    // m, world frame
        double quaternion[4];  // w, x, y, z
        uint32 body;           // 0: the object, 1: the robot's pelvis
        uint32 valid;          // 0: the tracker lost the body in this capture
      };
    }; }; };

Every field is naturally aligned and the struct ends on an 8-byte boundary, so the CDR
payload is the C struct image after the 4-byte encapsulation header.
"""

# No "from __future__ import annotations": cyclonedds reads the field types at runtime.
from dataclasses import dataclass, field

import numpy as np
from cyclonedds.idl import IdlStruct
from cyclonedds.idl import annotations as annotate
from cyclonedds.idl.types import array, float64, uint32

from contract.tracker import OBJECT, PELVIS
from deploy.protocol.messages import _READABLE_HEADERS, CDR_HEADER, MessageError

__all__ = ["OBJECT", "PELVIS", "TRACKED", "TRACKED_LAYOUT", "TrackedPose_", "tracked_pose"]

TRACKED = "rt/g1hoi/tracked_pose"

TRACKED_POSE = np.dtype(
    [("stamp", "<f8"), ("position", "<f8", (3,)), ("quaternion", "<f8", (4,)),
     ("body", "<u4"), ("valid", "<u4")]
)  # fmt: skip
assert TRACKED_POSE.itemsize == 72


@dataclass
@annotate.final
@annotate.autoid("sequential")
class TrackedPose_(IdlStruct, typename="g1hoi.msg.dds_.TrackedPose_"):
    stamp: float64 = 0.0
    position: array[float64, 3] = field(default_factory=lambda: [0.0] * 3)
    quaternion: array[float64, 4] = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0])
    body: uint32 = 0
    valid: uint32 = 0


@dataclass(frozen=True)
class FlatLayout:
    """A message without nested structs: its CDR payload is its C struct image."""

    name: str
    dtype: np.dtype

    def new(self) -> np.ndarray:
        return np.zeros((), self.dtype)

    def to_cdr(self, msg: np.ndarray) -> bytes:
        return CDR_HEADER + msg.tobytes()

    def from_cdr(self, data: bytes) -> np.ndarray:
        size = self.dtype.itemsize
        if len(data) != size + 4 or data[:2] not in _READABLE_HEADERS:
            raise MessageError(
                f"not a {self.name}: {len(data)} bytes with CDR header {data[:4].hex()} "
                f"(expected {size + 4} bytes, little-endian CDR)"
            )
        return np.frombuffer(data, self.dtype, count=1, offset=4)[0].copy()


TRACKED_LAYOUT = FlatLayout("TrackedPose", TRACKED_POSE)


def tracked_pose(stamp: float, body: int, position, quaternion, valid: bool = True) -> np.ndarray:
    """A filled sample."""
    msg = TRACKED_LAYOUT.new()
    msg["stamp"], msg["body"], msg["valid"] = stamp, body, int(valid)
    msg["position"], msg["quaternion"] = position, quaternion
    return msg
