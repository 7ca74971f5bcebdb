import struct
import threading

import numpy as np
import pytest

from deploy.protocol.channel import Channel
from deploy.protocol.crc import LOWCMD_FORMAT, crc32_reference, crc32_words
from deploy.protocol.unitree_hg import (
    LowCmd_,
    LowState_,
    crc_ok,
    lowcmd_crc,
    lowcmd_image,
    lowstate_image,
    seal,
)


def test_crc_test_vector_and_reference_loop():
    assert lowcmd_crc(LowCmd_()) == 0xFE172F9F  # all-zero LowCmd (unitree_sdk2py's algorithm)
    rng = np.random.default_rng(0)
    for size in (1004, 2092):
        image = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert crc32_words(image) == crc32_reference(image)


def test_struct_images_have_the_sdk_layout():
    cmd = LowCmd_(mode_pr=1, mode_machine=5)
    cmd.motor_cmd[1].q = 0.25
    image = lowcmd_image(cmd)
    assert len(image) == 1004 and len(lowstate_image(LowState_())) == 2092
    assert image[2:4] == bytes(2)  # padding after mode_machine is zero
    fields = struct.unpack(LOWCMD_FORMAT, image)
    assert fields[:2] == (1, 5) and fields[2 + 7 + 1] == 0.25  # motor 1's q


def test_wire_sizes_and_round_trip():
    cmd = seal(LowCmd_(mode_machine=5))
    data = cmd.serialize()
    assert len(data) == 1004  # 4-byte CDR header + 1000-byte payload
    back = LowCmd_.deserialize(data)
    assert back == cmd and crc_ok(back)
    state = seal(LowState_(tick=7))
    assert len(state.serialize()) == 2092 and crc_ok(LowState_.deserialize(state.serialize()))


def test_crc_detects_any_change():
    cmd = seal(LowCmd_())
    cmd.motor_cmd[28].kd = 1.0
    assert not crc_ok(cmd)
    assert crc_ok(seal(cmd))


def test_refuses_to_bind_all_interfaces():
    with pytest.raises(ValueError, match="network interface"):
        Channel(42, "")


def test_loopback_publish_subscribe(channel):
    got: list[LowCmd_] = []
    done = threading.Event()

    def on_sample(msg):
        got.append(msg)
        done.set()

    channel.reader("test/lowcmd_echo", LowCmd_, on_sample)
    writer = channel.writer("test/lowcmd_echo", LowCmd_)
    cmd = LowCmd_(mode_machine=5)
    cmd.motor_cmd[3].q = 0.3
    for _ in range(50):  # discovery takes a moment on loopback
        writer.write(seal(cmd))
        if done.wait(0.05):
            break
    assert got and crc_ok(got[0]) and abs(got[0].motor_cmd[3].q - 0.3) < 1e-6
