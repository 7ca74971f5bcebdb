"""``unitree_hg`` message types with Unitree's exact type names, field order, types and
array sizes (``unitree_sdk2py/idl/unitree_hg/msg/dds_``), plus their packing into the C
struct image the CRC is computed over. ``unitree_sdk2py``'s own classes are used when it
is installed; the wire format is the same either way.
"""

# No "from __future__ import annotations": cyclonedds reads the field types at runtime.
import struct
from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl import annotations as annotate
from cyclonedds.idl.types import array, float32, int16, uint8, uint32

from deploy.protocol.crc import LOWCMD_FORMAT, LOWSTATE_FORMAT, crc32_words

NUM_MOTORS = 35  # array length on the wire; the G1 29-DoF uses indices 0..28


@dataclass
@annotate.final
@annotate.autoid("sequential")
class MotorCmd_(IdlStruct, typename="unitree_hg.msg.dds_.MotorCmd_"):
    mode: uint8 = 0
    q: float32 = 0.0
    dq: float32 = 0.0
    tau: float32 = 0.0
    kp: float32 = 0.0
    kd: float32 = 0.0
    reserve: uint32 = 0


@dataclass
@annotate.final
@annotate.autoid("sequential")
class LowCmd_(IdlStruct, typename="unitree_hg.msg.dds_.LowCmd_"):
    mode_pr: uint8 = 0
    mode_machine: uint8 = 0
    motor_cmd: array[MotorCmd_, NUM_MOTORS] = field(
        default_factory=lambda: [MotorCmd_() for _ in range(NUM_MOTORS)]
    )
    reserve: array[uint32, 4] = field(default_factory=lambda: [0] * 4)
    crc: uint32 = 0


@dataclass
@annotate.final
@annotate.autoid("sequential")
class MotorState_(IdlStruct, typename="unitree_hg.msg.dds_.MotorState_"):
    mode: uint8 = 0
    q: float32 = 0.0
    dq: float32 = 0.0
    ddq: float32 = 0.0
    tau_est: float32 = 0.0
    temperature: array[int16, 2] = field(default_factory=lambda: [0, 0])
    vol: float32 = 0.0
    sensor: array[uint32, 2] = field(default_factory=lambda: [0, 0])
    motorstate: uint32 = 0
    reserve: array[uint32, 4] = field(default_factory=lambda: [0] * 4)


@dataclass
@annotate.final
@annotate.autoid("sequential")
class IMUState_(IdlStruct, typename="unitree_hg.msg.dds_.IMUState_"):
    quaternion: array[float32, 4] = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0])
    gyroscope: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    accelerometer: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    rpy: array[float32, 3] = field(default_factory=lambda: [0.0] * 3)
    temperature: int16 = 0


@dataclass
@annotate.final
@annotate.autoid("sequential")
class LowState_(IdlStruct, typename="unitree_hg.msg.dds_.LowState_"):
    version: array[uint32, 2] = field(default_factory=lambda: [0, 0])
    mode_pr: uint8 = 0
    mode_machine: uint8 = 0
    tick: uint32 = 0
    imu_state: IMUState_ = field(default_factory=IMUState_)
    motor_state: array[MotorState_, NUM_MOTORS] = field(
        default_factory=lambda: [MotorState_() for _ in range(NUM_MOTORS)]
    )
    wireless_remote: array[uint8, 40] = field(default_factory=lambda: [0] * 40)
    reserve: array[uint32, 4] = field(default_factory=lambda: [0] * 4)
    crc: uint32 = 0


def lowcmd_image(msg: LowCmd_) -> bytes:
    """The C struct image of a LowCmd (1004 bytes, zero padding)."""
    values: list = [msg.mode_pr, msg.mode_machine]
    for m in msg.motor_cmd:
        values += [m.mode, m.q, m.dq, m.tau, m.kp, m.kd, m.reserve]
    values += [*msg.reserve, msg.crc]
    return struct.pack(LOWCMD_FORMAT, *values)


def lowstate_image(msg: LowState_) -> bytes:
    """The C struct image of a LowState (2092 bytes, zero padding)."""
    imu = msg.imu_state
    values: list = [*msg.version, msg.mode_pr, msg.mode_machine, msg.tick]
    values += [*imu.quaternion, *imu.gyroscope, *imu.accelerometer, *imu.rpy, imu.temperature]
    for m in msg.motor_state:
        values += [m.mode, m.q, m.dq, m.ddq, m.tau_est, *m.temperature, m.vol, *m.sensor,
                   m.motorstate, *m.reserve]  # fmt: skip
    values += [*msg.wireless_remote, *msg.reserve, msg.crc]
    return struct.pack(LOWSTATE_FORMAT, *values)


def lowcmd_crc(msg: LowCmd_) -> int:
    return crc32_words(lowcmd_image(msg))


def lowstate_crc(msg: LowState_) -> int:
    return crc32_words(lowstate_image(msg))


def seal(msg: "LowCmd_ | LowState_") -> "LowCmd_ | LowState_":
    """Set the message's crc field, in place; returns it."""
    msg.crc = lowcmd_crc(msg) if isinstance(msg, LowCmd_) else lowstate_crc(msg)
    return msg


def crc_ok(msg: "LowCmd_ | LowState_") -> bool:
    expected = lowcmd_crc(msg) if isinstance(msg, LowCmd_) else lowstate_crc(msg)
    return msg.crc == expected
