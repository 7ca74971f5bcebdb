"""LowCmd and LowState as numpy records in the C struct layout, their CRC, and their
CDR wire bytes.

A message is a 0-d structured array whose bytes are exactly the C struct image the
firmware computes the CRC over (natural alignment, zero padding: LowCmd 1004 bytes,
LowState 2092), so filling it is vectorized (``msg["motor_cmd"]["q"][:29] = q``) and
sealing it is one C-speed CRC. The CDR payload on the wire is the same bytes with one
difference: CDR does not align nested structs, so the first motor's ``mode`` byte sits
right after the preceding field (2 bytes earlier) and everything after it moves 4 bytes
earlier. Converting is three slice copies instead of cyclonedds' per-field Python
serializer (0.3-0.7 ms per message, most of a 2 ms control period on two cores).
``tests/deploy/test_protocol.py`` checks the bytes against that serializer both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deploy.protocol.crc import crc32_words

NUM_MOTORS = 35  # array length on the wire; the G1 29-DoF uses indices 0..28

MOTOR_CMD = np.dtype(
    [("mode", "u1"), ("q", "<f4"), ("dq", "<f4"), ("tau", "<f4"), ("kp", "<f4"),
     ("kd", "<f4"), ("reserve", "<u4")],
    align=True,
)  # fmt: skip
LOWCMD = np.dtype(
    [("mode_pr", "u1"), ("mode_machine", "u1"), ("motor_cmd", MOTOR_CMD, (NUM_MOTORS,)),
     ("reserve", "<u4", (4,)), ("crc", "<u4")],
    align=True,
)  # fmt: skip
IMU_STATE = np.dtype(
    [("quaternion", "<f4", (4,)), ("gyroscope", "<f4", (3,)), ("accelerometer", "<f4", (3,)),
     ("rpy", "<f4", (3,)), ("temperature", "<i2")],
    align=True,
)  # fmt: skip
MOTOR_STATE = np.dtype(
    [("mode", "u1"), ("q", "<f4"), ("dq", "<f4"), ("ddq", "<f4"), ("tau_est", "<f4"),
     ("temperature", "<i2", (2,)), ("vol", "<f4"), ("sensor", "<u4", (2,)),
     ("motorstate", "<u4"), ("reserve", "<u4", (4,))],
    align=True,
)  # fmt: skip
LOWSTATE = np.dtype(
    [("version", "<u4", (2,)), ("mode_pr", "u1"), ("mode_machine", "u1"), ("tick", "<u4"),
     ("imu_state", IMU_STATE), ("motor_state", MOTOR_STATE, (NUM_MOTORS,)),
     ("wireless_remote", "u1", (40,)), ("reserve", "<u4", (4,)), ("crc", "<u4")],
    align=True,
)  # fmt: skip
assert LOWCMD.itemsize == 1004 and LOWSTATE.itemsize == 2092  # unitree_sdk2's sizeof

# XCDR1 little endian, what cyclonedds writes for these final types. XCDR2 little endian
# is accepted on input: with no field wider than 4 bytes its payload is the same.
CDR_HEADER = b"\x00\x01\x00\x00"
_READABLE_HEADERS = (b"\x00\x01", b"\x00\x07")


class MessageError(ValueError):
    """A DDS sample that is not a well-formed LowCmd/LowState."""


@dataclass(frozen=True)
class Layout:
    name: str
    dtype: np.dtype
    motors: str  # the motor array field

    @property
    def _split(self) -> int:
        return self.dtype.fields[self.motors][1]  # C offset of the first motor (its mode)

    def new(self) -> np.ndarray:
        """A zeroed message (padding included)."""
        return np.zeros((), self.dtype)

    def to_cdr(self, msg: np.ndarray) -> bytes:
        image, m = msg.tobytes(), self._split
        return b"".join((CDR_HEADER, image[: m - 2], image[m : m + 1], b"\0", image[m + 4 :]))

    def from_cdr(self, data: bytes) -> np.ndarray:
        size, m = self.dtype.itemsize, self._split
        if len(data) < size or len(data) > size + 3 or data[:2] not in _READABLE_HEADERS:
            raise MessageError(
                f"not a {self.name}: {len(data)} bytes with CDR header {data[:4].hex()} "
                f"(expected {size} bytes, little-endian CDR)"
            )
        image = bytearray(size)
        payload = memoryview(data)[4:size]
        image[: m - 2] = payload[: m - 2]
        image[m] = payload[m - 2]
        image[m + 4 :] = payload[m:]
        return np.ndarray((), self.dtype, buffer=image)


LOWCMD_LAYOUT = Layout("LowCmd", LOWCMD, "motor_cmd")
LOWSTATE_LAYOUT = Layout("LowState", LOWSTATE, "motor_state")


def message_crc(msg: np.ndarray) -> int:
    return crc32_words(msg.tobytes())


def seal(msg: np.ndarray) -> np.ndarray:
    """Set the message's crc field, in place; returns it."""
    msg["crc"] = message_crc(msg)
    return msg


def crc_ok(msg: np.ndarray) -> bool:
    return int(msg["crc"]) == message_crc(msg)
