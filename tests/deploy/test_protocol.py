import struct
import threading

import numpy as np
import pytest

from deploy.protocol.channel import Channel
from deploy.protocol.crc import crc32_reference, crc32_words
from deploy.protocol.messages import (
    LOWCMD_LAYOUT,
    LOWSTATE_LAYOUT,
    MessageError,
    crc_ok,
    message_crc,
    seal,
)
from deploy.protocol.unitree_hg import LowCmd_, LowState_, MotorCmd_, MotorState_

# unitree_sdk2's C struct layouts, written out independently of the numpy dtypes.
LOWCMD_FORMAT = "<2B2x" + "B3x5fI" * 35 + "5I"
LOWSTATE_FORMAT = "<2I2B2xI" + "13fh2x" + "B3x4f2hf7I" * 35 + "40B5I"


def random_lowcmd(rng) -> np.ndarray:
    msg = LOWCMD_LAYOUT.new()
    msg["mode_pr"], msg["mode_machine"] = rng.integers(0, 256, 2)
    m = msg["motor_cmd"]
    m["mode"] = rng.integers(0, 256, 35)
    for k in ("q", "dq", "tau", "kp", "kd"):
        m[k] = rng.normal(size=35)
    m["reserve"] = rng.integers(0, 2**32, 35)
    msg["reserve"] = rng.integers(0, 2**32, 4)
    return seal(msg)


def random_lowstate(rng) -> np.ndarray:
    msg = LOWSTATE_LAYOUT.new()
    msg["version"] = rng.integers(0, 2**32, 2)
    msg["mode_pr"], msg["mode_machine"] = rng.integers(0, 256, 2)
    msg["tick"] = rng.integers(0, 2**32)
    imu = msg["imu_state"]
    for k in ("quaternion", "gyroscope", "accelerometer", "rpy"):
        imu[k] = rng.normal(size=imu[k].shape)
    imu["temperature"] = rng.integers(-100, 100)
    m = msg["motor_state"]
    m["mode"] = rng.integers(0, 256, 35)
    for k in ("q", "dq", "ddq", "tau_est", "vol"):
        m[k] = rng.normal(size=35)
    m["temperature"] = rng.integers(-100, 100, (35, 2))
    for k in ("sensor", "reserve"):
        m[k] = rng.integers(0, 2**32, m[k].shape)
    m["motorstate"] = rng.integers(0, 2**32, 35)
    msg["wireless_remote"] = rng.integers(0, 256, 40)
    msg["reserve"] = rng.integers(0, 2**32, 4)
    return seal(msg)


def as_idl(msg: np.ndarray):
    """The same message as cyclonedds' IdlStruct (the reference serializer)."""

    def py(x):
        return x.tolist() if isinstance(x, np.ndarray) else x.item()

    if msg.dtype == LOWCMD_LAYOUT.dtype:
        motors = [MotorCmd_(**{k: py(m[k]) for k in m.dtype.names}) for m in msg["motor_cmd"]]
        header = {k: py(msg[k]) for k in ("mode_pr", "mode_machine", "reserve", "crc")}
        return LowCmd_(motor_cmd=motors, **header)
    imu = msg["imu_state"]
    state = LowState_(version=py(msg["version"]), mode_pr=py(msg["mode_pr"]),
                      mode_machine=py(msg["mode_machine"]), tick=py(msg["tick"]),
                      wireless_remote=py(msg["wireless_remote"]), reserve=py(msg["reserve"]),
                      crc=py(msg["crc"]))  # fmt: skip
    for k in imu.dtype.names:
        setattr(state.imu_state, k, py(imu[k]))
    state.motor_state = [
        MotorState_(**{k: py(m[k]) for k in m.dtype.names}) for m in msg["motor_state"]
    ]
    return state


def struct_image(msg: np.ndarray) -> bytes:
    """The C struct image packed field by field with ``struct`` (independent oracle)."""
    values: list = []
    for name in msg.dtype.names:
        field = msg[name]
        if field.dtype.names:  # nested struct (arrays): flatten in field order
            for rec in np.atleast_1d(field):
                for k in rec.dtype.names:
                    values += np.atleast_1d(rec[k]).tolist()
        else:
            values += np.atleast_1d(field).tolist()
    fmt = LOWCMD_FORMAT if msg.dtype == LOWCMD_LAYOUT.dtype else LOWSTATE_FORMAT
    return struct.pack(fmt, *values)


def test_crc_test_vector_and_reference_loop():
    assert message_crc(LOWCMD_LAYOUT.new()) == 0xFE172F9F  # all-zero LowCmd (the SDK's value)
    rng = np.random.default_rng(0)
    for size in (8, 1004, 2092):
        image = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert crc32_words(image) == crc32_reference(image)
    with pytest.raises(ValueError, match="whole number of words"):
        crc32_words(bytes(7))


@pytest.mark.parametrize("make", [random_lowcmd, random_lowstate])
def test_records_are_the_sdk_struct_images(make):
    rng = np.random.default_rng(1)
    for _ in range(5):
        msg = make(rng)
        assert msg.tobytes() == struct_image(msg)  # same bytes, padding zero
        assert crc_ok(msg) and msg["crc"] == crc32_reference(struct_image(msg))


@pytest.mark.parametrize(
    ("make", "layout", "idl"),
    [(random_lowcmd, LOWCMD_LAYOUT, LowCmd_), (random_lowstate, LOWSTATE_LAYOUT, LowState_)],
)
def test_wire_bytes_equal_cyclonedds_serializer_both_ways(make, layout, idl):
    rng = np.random.default_rng(2)
    for _ in range(5):
        msg = make(rng)
        reference = as_idl(msg).serialize()
        assert layout.to_cdr(msg) == reference
        assert layout.from_cdr(reference).tobytes() == msg.tobytes()
        decoded = idl.deserialize(layout.to_cdr(msg))
        motors = decoded.motor_cmd if idl is LowCmd_ else decoded.motor_state
        assert [m.q for m in motors] == msg[layout.motors]["q"].tolist()
        assert [m.mode for m in motors] == msg[layout.motors]["mode"].tolist()
        assert decoded.crc == msg["crc"]


def test_crc_detects_any_change():
    msg = seal(LOWCMD_LAYOUT.new())
    msg["motor_cmd"]["kd"][28] = 1.0
    assert not crc_ok(msg)
    assert crc_ok(seal(msg))


@pytest.mark.parametrize(
    "data",
    [b"", bytes(100), b"\x01\x00\x00\x00" + bytes(1000), b"\x00\x01\x00\x00" + bytes(2000)],
)
def test_malformed_samples_are_refused(data):
    with pytest.raises(MessageError, match="not a LowCmd"):
        LOWCMD_LAYOUT.from_cdr(data)


def test_refuses_to_bind_all_interfaces():
    with pytest.raises(ValueError, match="network interface"):
        Channel(42, "")


def test_loopback_interop_with_the_reference_types(channel):
    """Our records reach a reader of cyclonedds' own typed samples and back."""
    from cyclonedds.pub import DataWriter
    from cyclonedds.sub import DataReader

    got: list[np.ndarray] = []
    done = threading.Event()

    def on_sample(msg):
        got.append(msg)
        done.set()

    channel.reader("test/lowcmd_echo", LOWCMD_LAYOUT, on_sample)
    writer = channel.writer("test/lowcmd_echo", LOWCMD_LAYOUT)
    topic = channel._topic("test/lowcmd_echo", LOWCMD_LAYOUT)
    typed_reader = DataReader(channel.participant, topic)
    typed_writer = DataWriter(channel.participant, topic)
    msg = random_lowcmd(np.random.default_rng(3))
    typed: list = []
    for _ in range(50):  # discovery takes a moment on loopback
        writer.write(msg)
        typed += typed_reader.take(N=4)
        if done.wait(0.05) and typed:
            break
    assert typed and typed[0] == as_idl(msg)
    got.clear()
    done.clear()
    typed_writer.write(as_idl(msg))
    assert done.wait(2.0) and got[0].tobytes() == msg.tobytes() and crc_ok(got[0])


def test_the_virtual_g1s_gantry_holds_a_limp_robot_where_it_stands():
    """No motor torque for 1 s on the gantry: the pelvis stays at standing height and
    upright (the weld's anchor was MjSpec's default, 1 m beside the pelvis)."""
    import mujoco

    from deploy.virtual_g1 import Args, scene_model
    from robots import g1

    model = scene_model([], [], Args(gantry=True))
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("default").id)
    for _ in range(round(1.0 / model.opt.timestep)):
        mujoco.mj_step(model, data)
    assert abs(data.qpos[2] - g1.DEFAULT_ROOT_HEIGHT) < 0.01
    assert abs(data.qpos[3]) > np.cos(np.radians(1.0) / 2)  # tilted under 1 degree


def test_the_virtual_g1_reports_on_ctrl_c_and_shows_it_runs(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    report = tmp_path / "vg1.json"
    script = Path(__file__).resolve().parents[2] / "deploy/virtual_g1.py"
    v = subprocess.Popen([sys.executable, str(script), "--net", "lo", "--domain", "87",
                          "--seconds", "60", "--report", str(report)],
                         stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert v.stderr.readline().startswith("virtual G1: up on domain 87")
    time.sleep(0.5)
    v.send_signal(signal.SIGINT)
    _, err = v.communicate(timeout=30)
    assert v.returncode == 0 and "Traceback" not in err, err
    assert "virtual G1: interrupted" in err
    assert json.loads(report.read_text())["steps"] > 0


def test_the_virtual_g1_stands_where_the_clip_starts():
    import mujoco

    from deploy.virtual_g1 import Args, scene_model
    from robots import g1, quat

    start = (0.89, 0.015, -0.03)
    model = scene_model([], [], Args(gantry=True), start)
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("default").id)
    for _ in range(round(1.0 / model.opt.timestep)):
        mujoco.mj_step(model, data)
    np.testing.assert_allclose(data.qpos[:3], [0.89, 0.015, g1.DEFAULT_ROOT_HEIGHT], atol=0.01)
    assert quat.yaw(data.qpos[3:7]) == pytest.approx(-0.03, abs=0.01)
