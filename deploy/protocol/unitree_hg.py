"""``unitree_hg`` message types with Unitree's exact type names, field order, types and
array sizes (``unitree_sdk2py/idl/unitree_hg/msg/dds_``).

They declare the topics' types to DDS (type name and type information, what the robot
matches on) and are the reference the fast numpy codec in ``deploy.protocol.messages``
is tested against byte for byte.
"""

# No "from __future__ import annotations": cyclonedds reads the field types at runtime.
from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl import annotations as annotate
from cyclonedds.idl.types import array, float32, int16, uint8, uint32

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
