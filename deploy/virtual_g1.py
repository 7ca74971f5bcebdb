"""The virtual G1: a MuJoCo G1 that speaks the robot's low-level DDS protocol.

Subscribes ``rt/lowcmd`` (frames with a bad CRC or another ``mode_machine`` are ignored,
as the firmware does), applies each enabled motor's PD law
``tau = kp (q_des - q) + kd (dq_des - dq) + tau_ff`` clipped to its effort limit at the
physics rate, and publishes ``rt/lowstate`` (motor states, pelvis IMU, tick in ms,
valid CRC) at 500 Hz. Run it as its own process:

    python deploy/virtual_g1.py --net lo [--gantry] [--seconds 60]

Fault switches for tests: ``--silent-after`` stops publishing, ``--bad-crc-after``
publishes corrupt CRCs, ``--nan-after`` publishes NaN joint angles, ``--zero-quat-after``
publishes an all-zero IMU quaternion, ``--mode-machine-after`` reports another robot type
(``--mode-machine`` sets the type), ``--push-after`` shoves the pelvis to make the robot
fall.
"""

from __future__ import annotations

import gc
import select
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mujoco
import numpy as np
import tyro

from contract.tracker import SimulatedTracker, TrackerSettings
from deploy.protocol.channel import LOWCMD, LOWSTATE, SIM_DOMAIN, Channel
from deploy.protocol.messages import LOWCMD_LAYOUT, LOWSTATE_LAYOUT, MOTOR_CMD, crc_ok, seal
from deploy.protocol.tracking import OBJECT, PELVIS, TRACKED, TRACKED_LAYOUT, tracked_pose
from deploy.realtime import use_realtime
from robots import g1
from robots.clip import load_clip
from robots.g1.mjcf import STRICT, SimOptions, default_qpos, set_pd_gains
from robots.motor_law import MotorLaw
from robots.scene import Placement, build_scene

MODE_MACHINE = 5  # g1_29dof_rev_1_0
STATUS_SECONDS = 5.0  # between the status lines on stderr
RECORD_PERIOD = 0.02  # s between the poses in the report: a 50 Hz policy's steps


@dataclass
class Args:
    net: str = "lo"
    """Network interface (loopback for the virtual robot)."""
    domain: int = SIM_DOMAIN
    physics: SimOptions = STRICT
    """The shared contact model at 1 kHz (``robots.g1.mjcf.STRICT``)."""
    publish_hz: float = 500.0
    seconds: float = 3600.0
    """Run this long, then exit."""
    rt_priority: int = 0
    """SCHED_FIFO priority 1-99 (needs root or CAP_SYS_NICE); 0: normal scheduling."""
    gantry: bool = False
    """Hold the pelvis in place (the robot hangs as in a gantry); typing r and Enter in
    this terminal lowers it onto its feet."""
    release_after: float | None = None
    """With --gantry: drop the gantry after this many s (from the start, or with
    --clock-from-command from the node's first command); for unattended runs."""
    silent_after: float | None = None
    bad_crc_after: float | None = None
    nan_after: float | None = None
    zero_quat_after: float | None = None
    mode_machine: int = MODE_MACHINE
    """The robot type this G1 reports (``mode_machine``) and accepts in LowCmds."""
    mode_machine_after: float | None = None
    """After this many s report type 4 (a 23-DoF G1) instead."""
    push_after: float | None = None
    clock_from_command: bool = False
    """Count the fault switches' times (``--*-after``) from the first LowCmd received
    instead of from the start: faults at a chosen moment of the node's run (the move to
    the default pose starts with its first command)."""
    object_clip: Path | None = None
    """Place this clip's object at its first-frame pose and publish the tracker topic:
    the object's and the pelvis's true poses as ``--tracker.*`` sets the tracker (rate,
    latency, position noise, lost captures sent as invalid; ``contract.tracker``)."""
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    seed: int = 0
    """The tracker's noise and lost captures."""
    tracker_silent_after: float | None = None
    """The tracker stops publishing after this many s."""
    report: Path | None = None
    """Write a JSON summary here at exit (pelvis height and object position over time
    from the start; every 20 ms the time, the simulated time, which lags on a busy
    machine, and the whole ``qpos``; rejected commands, the
    LowState-written to LowCmd-received round trip; the system's monotonic clock at the
    start, ``started``, and when the first faulty or missing LowState was due,
    ``fault_at``)."""


def scene_model(objects, placements, args: Args, start=(0.0, 0.0, 0.0)) -> mujoco.MjModel:
    """The virtual G1's world: the robot (its position actuators' gains set from each
    LowCmd) standing at ``start`` (x, y, heading), the objects, and with ``--gantry`` a weld
    holding the pelvis where it stands, feet just touching the floor, so that releasing
    it does not drop the robot."""
    spec = build_scene(objects, placements, options=args.physics)
    root = default_qpos(start)[:7]
    spec.body("pelvis").pos, spec.body("pelvis").quat = root[:3], root[3:]
    key = spec.key("default")
    key.qpos = np.r_[root, np.asarray(key.qpos)[7:]]
    if args.gantry:
        weld = spec.add_equality(
            type=mujoco.mjtEq.mjEQ_WELD, name1="pelvis", objtype=mujoco.mjtObj.mjOBJ_BODY
        )
        # The anchor (in the world, the weld's second body) at the pelvis's origin, the
        # relative pose left to the compiler (zero quaternion: taken from qpos0). An
        # anchor far from the pelvis holds it loosely: MjSpec's default, 1 m to the side,
        # let it drop 28 cm.
        weld.data = [*root[:3], *[0.0] * 7, 1.0, 0.0]
    return spec.compile()


class VirtualG1:
    def __init__(self, args: Args):
        self.args = args
        objects, placements, start = [], [], (0.0, 0.0, 0.0)
        if args.object_clip is not None:  # the robot and the object where the clip starts
            clip = load_clip(args.object_clip)
            objects.append(clip.object)
            placements.append(Placement(tuple(clip.object_pos[0]), tuple(clip.object_quat[0])))
            start = clip.start_place()
        self.model = scene_model(objects, placements, args, start)
        last = self.model.nbody - 1  # the scene's one object, if any: its qpos address
        self.obj_q = self.model.jnt_qposadr[self.model.body_jntadr[last]] if objects else None
        self.data = mujoco.MjData(self.model)
        mujoco.mj_resetDataKeyframe(self.model, self.data, self.model.key("default").id)
        mujoco.mj_forward(self.model, self.data)
        self.motor_law = MotorLaw(self.model, args.physics.pd)
        joints = [self.model.joint(n) for n in g1.JOINT_NAMES]
        self.qadr = np.array([j.qposadr[0] for j in joints])
        self.vadr = np.array([j.dofadr[0] for j in joints])
        self.lock = threading.Lock()
        self.gyro = self.data.sensor("imu_gyro").data
        self.accelerometer = self.data.sensor("imu_acc").data
        self.motors: np.ndarray | None = None  # the latest valid LowCmd's motor_cmd[:29]
        self.rejected = 0
        self.first_command: float | None = None
        self.published = -np.inf  # when the last LowState went out
        # The system's monotonic clock (time.perf_counter, shared by the processes of one
        # machine) when the first faulty LowState was due: reactions are timed from it.
        self.fault_at: float | None = None
        self.round_trips: list[float] = []  # LowState written -> next LowCmd received, s
        self.steps = 0
        self.heights: list[tuple[float, float]] = []  # (time, pelvis height) every 0.1 s
        self.object_path: list[list[float]] = []  # (time, x, y, z) every 0.1 s
        self.poses: list[list[float]] = []  # (time, simulated time, *qpos) every RECORD_PERIOD
        self.keyboard = False  # the operator's terminal (``run``)
        self.started: float | None = None  # the system's monotonic clock at ``run``
        self.tracked = (SimulatedTracker(args.tracker, np.random.default_rng(args.seed))
                        if objects else None)  # fmt: skip

    def connect(self) -> None:
        """Join the DDS domain: LowCmd in; LowState and, with an object, the tracker
        topic out. (A harness that steps the node in lockstep wires these itself.)"""
        self.channel = Channel(self.args.domain, self.args.net)
        self.channel.reader(LOWCMD, LOWCMD_LAYOUT, self._on_cmd, self._on_malformed)
        self.writer = self.channel.writer(LOWSTATE, LOWSTATE_LAYOUT)
        if self.tracked is not None:
            self.tracker = self.channel.writer(TRACKED, TRACKED_LAYOUT)

    def _on_cmd(self, msg: np.ndarray) -> None:
        if not crc_ok(msg) or msg["mode_machine"] != self.args.mode_machine:
            self.rejected += 1
            return
        with self.lock:
            self.motors = msg["motor_cmd"][: g1.NUM_JOINTS]
            if self.first_command is None:
                self.first_command = time.perf_counter()
        self.round_trips.append(time.perf_counter() - self.published)

    def _on_malformed(self, _) -> None:
        self.rejected += 1

    def drive(self) -> None:
        """The motors' PD law for the latest LowCmd, ``tau = kp (q* - q) + kd (dq* - dq)
        + tau_ff`` clipped to the effort limit, as MuJoCo position actuators: their
        damping is integrated implicitly, as a driver running its PD far faster than the
        simulation behaves (an explicit law at 1 kHz is not: the lift expert fell with it
        and held with the actuators). Training and sim2sim drive the same actuators;
        ``--physics.pd sampled`` steps them as Unitree's simulator does
        (``robots/motor_law.py``)."""
        with self.lock:
            m = self.motors
        on = np.zeros(g1.NUM_JOINTS) if m is None else (m["mode"] == 1).astype(float)
        m = m if m is not None else np.zeros(g1.NUM_JOINTS, MOTOR_CMD)
        kp, kd = np.nan_to_num(m["kp"]) * on, np.nan_to_num(m["kd"]) * on
        set_pd_gains(self.model, kp, kd)
        self.data.ctrl[:] = np.nan_to_num(m["q"])
        feedforward = kd * np.nan_to_num(m["dq"]) + np.nan_to_num(m["tau"])
        self.data.qfrc_applied[self.vadr] = feedforward * on

    def state_message(self, tick: int, since: float) -> np.ndarray:
        """The LowState now; ``since``: the fault switches' clock."""
        a, d = self.args, self.data
        msg = LOWSTATE_LAYOUT.new()
        other = a.mode_machine_after is not None and since > a.mode_machine_after
        msg["mode_machine"], msg["tick"] = (4 if other else a.mode_machine), tick
        imu = msg["imu_state"]
        zero = a.zero_quat_after is not None and since > a.zero_quat_after
        imu["quaternion"], imu["gyroscope"] = (0.0 if zero else d.qpos[3:7]), self.gyro
        imu["accelerometer"] = self.accelerometer
        nan = a.nan_after is not None and since > a.nan_after
        motors = msg["motor_state"][: g1.NUM_JOINTS]
        motors["mode"] = 1
        motors["q"] = np.nan if nan else d.qpos[self.qadr]
        motors["dq"], motors["tau_est"] = d.qvel[self.vadr], d.actuator_force
        seal(msg)
        if a.bad_crc_after is not None and since > a.bad_crc_after:
            msg["crc"] ^= 0xFFFF
        return msg

    def faulty(self, since: float) -> bool:
        """Whether the LowState due now carries an injected fault (bad CRC, NaN joints,
        zero quaternion, another robot type)."""
        a = self.args
        switches = (a.bad_crc_after, a.nan_after, a.zero_quat_after, a.mode_machine_after)
        return any(after is not None and since > after for after in switches)

    def track(self, elapsed: float, since: float) -> None:
        """Capture the object and pelvis when a capture is due; send the captures whose
        latency has passed."""
        a, q = self.args, self.data.qpos
        if a.tracker_silent_after is None or since <= a.tracker_silent_after:
            poses = {PELVIS: (q[0:3], q[3:7])}
            o = self.obj_q
            poses[OBJECT] = (q[o : o + 3], q[o + 3 : o + 7])  # the scene's one object
            self.tracked.capture(elapsed, poses)
        for stamp, body, pos, wxyz, valid in self.tracked.due(elapsed):
            self.tracker.write(tracked_pose(stamp, body, pos, wxyz, valid))

    def run(self) -> None:
        a = self.args
        gc.collect()
        gc.freeze()  # no full collections over the loaded modules and model mid-run
        start = self.started = time.perf_counter()
        self.keyboard = a.gantry and sys.stdin.isatty()
        release = "; r + Enter releases the gantry" if self.keyboard else ""
        print(f"virtual G1: up on domain {a.domain}, {a.net}; Ctrl-C stops it{release}",
              file=sys.stderr, flush=True)  # fmt: skip
        try:
            self._loop(start)
        except KeyboardInterrupt:  # Ctrl-C: stop, and still report
            print("virtual G1: interrupted", file=sys.stderr)
        if a.report is not None:
            self.write_report(a.report)

    def _loop(self, start: float) -> None:
        a = self.args
        dt = a.physics.timestep
        status = round(STATUS_SECONDS / dt)
        while True:
            now = time.perf_counter()
            elapsed = now - start
            if elapsed > a.seconds:
                break
            # Fault switches' clock: from the start, or from the first command (-inf before).
            since = elapsed
            if a.clock_from_command:
                since = -np.inf if self.first_command is None else now - self.first_command
            self.tick(elapsed, since)
            if self.steps % status == 0:  # a sign of life for whoever runs it by hand
                print(f"virtual G1: {elapsed:.0f} s, pelvis {self.data.qpos[2]:.3f} m, "
                      f"{'commanded' if self.first_command else 'no command yet'}, "
                      f"{self.rejected} rejected", file=sys.stderr, flush=True)  # fmt: skip
            wait = start + self.steps * dt - time.perf_counter()
            if wait > 0:
                time.sleep(wait)

    def tick(self, elapsed: float, since: float) -> None:
        """One physics step at ``elapsed`` s (``since``: the fault switches' clock): the
        latest command applied, the gantry and pushes, the tracker, and the LowState
        when one is due (``--publish-hz``)."""
        a = self.args
        self.drive()
        if a.gantry and a.release_after is not None and since > a.release_after:
            self.data.eq_active[0] = 0
        tenth = max(1, round(0.1 / a.physics.timestep))
        if a.gantry and self.steps % tenth == 0 and self.release_typed():
            self.data.eq_active[0] = 0
            print("virtual G1: gantry released", file=sys.stderr, flush=True)
        if a.push_after is not None and a.push_after < since < a.push_after + 0.2:
            self.data.xfrc_applied[1, 0] = 300.0  # a hard shove on the pelvis
        else:
            self.data.xfrc_applied[1, 0] = 0.0
        self.motor_law.step(self.data)
        self.steps += 1
        step = self.steps
        if self.tracked is not None:
            self.track(elapsed, since)
        if step % round(RECORD_PERIOD / a.physics.timestep) == 0:
            now = [round(elapsed, 4), round(self.data.time, 4)]
            self.poses.append([*now, *self.data.qpos.tolist()])
        if step % tenth == 0:
            self.heights.append((round(elapsed, 3), float(self.data.qpos[2])))
            if self.obj_q is not None:  # the object's position: the task's outcome
                o = self.obj_q
                self.object_path.append([round(elapsed, 3), *self.data.qpos[o : o + 3]])
        silent = a.silent_after is not None and since > a.silent_after
        if step % max(1, round(1.0 / (a.physics.timestep * a.publish_hz))) == 0:
            if not silent:
                tick = round(step * a.physics.timestep * 1000)  # ms, as the robot counts
                self.writer.write(self.state_message(tick, since))
                self.published = time.perf_counter()
            if self.fault_at is None and (silent or self.faulty(since)):
                self.fault_at = time.perf_counter()

    def release_typed(self) -> bool:
        """Whether the operator typed ``r`` and Enter in this terminal (the gantry is
        released when a person is ready, not on a timer)."""
        if not self.keyboard or not select.select([sys.stdin], [], [], 0)[0]:
            return False
        line = sys.stdin.readline()
        if not line:  # the terminal is gone
            self.keyboard = False
        return line.strip() == "r"

    def write_report(self, path: Path) -> None:
        import json

        from common.atomic import write_text

        trips = np.array(self.round_trips[1:]) * 1000  # ms
        trips = trips[trips < 1000]  # a command before the first state: not a round trip
        summary = {"pelvis_height": self.heights, "object": self.object_path,
                   "qpos": self.poses, "rejected": self.rejected, "steps": self.steps,
                   "fault_at": self.fault_at, "started": self.started}  # fmt: skip
        for q in (50, 99):
            value = round(float(np.percentile(trips, q)), 3) if len(trips) else None
            summary[f"round_trip_p{q}_ms"] = value
        write_text(path, json.dumps(summary))


def main() -> None:
    args = tyro.cli(Args, prog="python deploy/virtual_g1.py", description=__doc__)
    use_realtime(args.rt_priority)
    try:
        robot = VirtualG1(args)
        robot.connect()
    except ValueError as e:  # an unknown interface, a DDS domain that cannot be joined
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    robot.run()
    import os

    os._exit(0)  # cyclonedds threads can delay interpreter exit


if __name__ == "__main__":
    main()
