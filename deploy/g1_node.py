"""The G1 control node: DDS LowState in, LowCmd out, an ONNX policy in between, and a
safety layer and watchdog around everything. numpy + onnxruntime only (no torch).

    python deploy/g1_node.py --policy policy.onnx --motion CLIP.npz --net IFACE [--domain 0]

State machine: PASSIVE (motors enabled, zero torque) -> MOVE (to the default pose over
``--move-seconds`` with the stand gains) -> HOLD (default pose) -> POLICY (the policy
at its control rate, its gains) -> DAMPING on stop or on any fault (zero stiffness,
joint damping; only a restart leaves it). A command answers each LowState (500 Hz), one
goes out anyway after 1.5 periods without; every one passes ``deploy.safety``. Faults:
LowState older than 3 policy periods, NaN/inf anywhere, a robot type other than
``--mode-machine``, and in the stiff states (move, hold, policy) an IMU quaternion that
is not a rotation or a pelvis tilt beyond ``--max-tilt`` (in policy beyond the
reference's own lean plus 0.35 rad where that is more); policy exception, non-finite or
exploded (> 10 action clips) output, a policy step (on its own thread) longer than
``--max-policy-step``, the node's own commands further apart than ``--max-command-gap``,
any other error in the loop, e-stop.
Every transition and fault is printed and written to the session log (JSON lines).

Keys (terminal): s = start (passive -> move -> hold), p = policy on, h = back to hold,
space or e = emergency stop (damping), q = stop and quit; the reference playback keys of
the sim2sim viewer: +/- faster/slower, ] / [ jump 1 s forward/back; and its goal keys
(Stage 2/3 policies, ``contract.runner.PolicyRunner.goal_key``): 1-9 the snapshot goal at
10-90 % of the clip, c chain mode, g next goal pattern.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import tyro

from contract import playback
from contract.estimator import estimate_state
from contract.goals.features import GOAL_TOLERANCE
from contract.leg_odometry import OdometryTrail
from contract.observations import projected_gravity_of
from contract.policy import Policy, PolicyError
from contract.policy_file import clip_warning
from contract.runner import PolicyRunner
from contract.tracker import TrackedBody
from deploy.inference import InferenceWorker
from deploy.motion_service import MotionServiceError, check_released
from deploy.protocol.channel import LOWCMD, LOWSTATE, ROBOT_DOMAIN, Channel, require_interface
from deploy.protocol.messages import LOWCMD_LAYOUT, LOWSTATE_LAYOUT, crc_ok, seal
from deploy.protocol.tracking import OBJECT, PELVIS, TRACKED, TRACKED_LAYOUT
from deploy.realtime import use_realtime
from deploy.safety import (
    COMMAND_PERIOD,
    Command,
    SafetyLimits,
    damping_command,
    filter_command,
)
from deploy.timing import LoopTiming
from robots import g1
from robots.clip import load_clip

COMMAND_HZ = 1.0 / COMMAND_PERIOD
# Raw policy outputs beyond this many action clips mean a broken network, not a bold one.
EXPLODED = 10.0
RUNNER_KEYS = "123456789g+=-[]"  # goal and playback keys: they change the policy runner
WATCHDOG_PERIOD = 0.005  # s between the watchdog's looks at the command loop
NO_STATE_NOTICE = 1.0  # s after start without a valid LowState before saying so
# The IMU sends unit quaternions; a norm this far from 1 (all zeros, garbage) is a fault.
QUAT_NORM_TOLERANCE = 0.05
# rad the pelvis may tilt beyond the reference's own lean in policy (a fall goes further).
LEAN_MARGIN = 0.35
KEYS_HELP = (
    "keys: s start | p policy | h hold | space/e e-stop | q quit\n      "
    + playback.KEYS_HELP
    + "\n      Stage 2/3: 1-9 snapshot goal at 10-90 % of the clip | c chain | g goal pattern"
)


def tilt_of(quaternion: np.ndarray) -> float:
    """rad between a pelvis orientation's z axis and vertical."""
    up = -projected_gravity_of(np.asarray(quaternion, dtype=np.float64)[None])[0, 2]
    return float(np.arccos(np.clip(up, -1.0, 1.0)))


class Mode(Enum):
    PASSIVE = "passive"
    MOVE = "move_to_default"
    HOLD = "hold"
    POLICY = "policy"
    DAMPING = "damping"


@dataclass
class Args:
    policy: Path
    """Exported policy (.onnx)."""
    motion: Path
    """Reference clip the policy follows (.npz)."""
    net: str
    """Network interface wired to the robot (lo for the virtual G1). Required."""
    domain: int = ROBOT_DOMAIN
    log: Path | None = None
    """Session log (JSON lines; default: runs/sessions/DATE-TIME.jsonl), created with its
    first entry, after the interface check."""
    move_seconds: float = 3.0
    max_tilt: float = 0.8
    """rad between the pelvis z axis and vertical before damping (in policy: or the
    reference's own lean at the current frame plus 0.35 rad, where that is more)."""
    simulator_without_crc: bool = False
    """Accept LowStates whose CRC is 0 (Unitree's own MuJoCo simulator leaves CRC and
    mode_machine at 0: add --mode-machine 0). Never on a robot: a corrupt state then
    goes unnoticed."""
    mode_machine: int = 5
    """The robot type every LowState must report (Unitree's ``mode_machine``: 5 is the
    G1 29-DoF rev 1.0; other types have other joints and limits). Another value is a
    fault."""
    auto: bool = False
    """No keyboard: start at once, policy after --hold-seconds, stop after --seconds."""
    hold_seconds: float = 1.0
    seconds: float = 0.0
    """With --auto: total run time before stopping to damping (0: until interrupted)."""
    goals: str = "full"
    """Stage 2 policies: the goal pattern taken from the clip (full, snapshot, trajectory,
    contact, snapshot+trajectory, contact+trajectory)."""
    rt_priority: int = 0
    """SCHED_FIFO priority 1-99 for the control loop and its DDS threads (needs root or
    CAP_SYS_NICE; recommended on the robot's computer); 0: normal scheduling."""
    max_policy_step: float = 0.0
    """s a policy step (state to actions, on its own thread) may take before it is a
    fault (0: two policy periods; a step takes 1-3 ms idle and up to ~25 ms on a loaded
    2-core machine, and the robot keeps the previous targets meanwhile)."""
    max_command_gap: float = 0.05
    """s between two of the node's own commands before it is a fault (a starved or
    stalled loop: the motors hold stale targets meanwhile)."""
    tracker: bool = False
    """Take the object's pose (and the pelvis position and velocity, where tracked) from
    the tracker topic (``deploy/protocol/tracking.py``)."""
    tracker_latency: float = 0.03
    """s from a capture to its arrival; poses are extrapolated over it."""
    tracker_stale: float = 0.1
    """s without a valid object capture before the policy is left for hold."""
    object_from_reference: bool = False
    """Without a tracker: give the policy the reference clip's object (open loop; bench
    tests without an object only)."""
    motion_service_released: bool = False
    """Declare that Unitree's motion service has released the motors, where the node
    cannot ask it (unitree_sdk2py not installed); see deploy/motion_service.py."""
    trace: Path | None = None
    """Write the loop's recent periods and latencies (.npz) here at exit (debugging)."""


class SessionLog:
    """The session's JSON lines; the file is created with the first entry, so that a node
    refused at start leaves none. Writing never raises into the control path: an entry
    that cannot be written (disk full, terminal gone) is counted in ``lost``."""

    def __init__(self, path: Path | None):
        self.path = path or Path("runs/sessions") / time.strftime("%Y%m%d-%H%M%S.jsonl")
        self.file = None
        self.start = time.perf_counter()
        self.lost = 0

    def write(self, kind: str, **fields) -> None:
        entry = {"t": round(time.perf_counter() - self.start, 4), "kind": kind, **fields}
        try:
            if self.file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.file = open(self.path, "a", buffering=1)  # noqa: SIM115 - session-long
            self.file.write(json.dumps(entry) + "\n")
            if kind in ("transition", "fault", "goal_reached"):  # what the operator sees
                print(json.dumps(entry), flush=True)
        except (OSError, ValueError):
            self.lost += 1


class G1Node:
    def __init__(self, args: Args, clock: Callable[[], float] = time.perf_counter):
        self.args = args
        # Every time the node reads: the system's monotonic clock, or a simulated one when
        # a harness steps the node in lockstep with its physics (deploy/lockstep.py).
        self.clock = clock
        # Bad files and unknown goal patterns fail here, before any DDS traffic. Stage 2/3
        # policies get goals from the clip under the pattern, with the mean latent.
        self.policy = Policy.load(args.policy)
        self.clip = load_clip(args.motion)
        if warning := clip_warning(self.policy, args.motion):
            print(f"warning: {warning}", file=sys.stderr)
        rng = np.random.default_rng(0)
        self.runner = PolicyRunner(self.policy, self.clip, rng, pattern=args.goals)
        observed = self.policy.metadata.get("observation_names", "").split(",")
        if {"object_state", "interaction"} & set(observed) and not (
            args.tracker or args.object_from_reference
        ):
            raise ValueError(
                f"{args.policy} observes the object, and no object source is given: run a "
                "tracker and pass --tracker, or for bench tests without an object "
                "--object-from-reference (the reference clip's object, open loop)"
            )
        if args.tracker and args.object_from_reference:
            raise ValueError("--tracker and --object-from-reference exclude each other")
        bodies = (OBJECT, PELVIS) if args.tracker else ()
        self.tracked = {body: TrackedBody(args.tracker_latency) for body in bodies}
        self.odometry = OdometryTrail()  # the inference thread's own
        self.log = SessionLog(args.log)
        self.limits = SafetyLimits()
        self.stand_kp, self.stand_kd = g1.gains("stand")
        self.mode = Mode.PASSIVE
        self.mode_since = self.clock()
        self.lock = threading.Lock()
        self.fresh = threading.Event()  # a LowState arrived since the last command
        self.state: np.ndarray | None = None
        self.state_time = -np.inf
        self.bad_crc = 0
        self.previous: np.ndarray | None = None
        self.targets = g1.DEFAULT_POS.copy()
        self.speed = 1.0
        self.chaining = False  # goal keys queue goals instead of switching at once
        self.goals_logged = 0  # of the runner's reached goals, since the policy started
        self.runner_keys: list[str] = []  # typed while a policy step ran: applied after it
        self.move_from: np.ndarray | None = None  # the move's start, set by its first command
        self.gains = (np.zeros(g1.NUM_JOINTS), np.zeros(g1.NUM_JOINTS))  # the last stiff ones
        self.period = 1.0 / self.policy.control_hz
        self.stale_after = 3.0 / self.policy.control_hz
        self.running = True
        self.quit = False  # leave once damping has been sent for a moment
        self.command_msg = LOWCMD_LAYOUT.new()
        self.watchdog_msg = LOWCMD_LAYOUT.new()
        self.publish_lock = threading.Lock()
        self.timing = LoopTiming(1.0 / COMMAND_HZ)
        budget = args.max_policy_step or 2.0 / self.policy.control_hz
        self.worker = InferenceWorker(self.infer, budget)
        self.last_publish: float | None = None
        self.start = self.clock()  # the session's start (``begin``)
        self.cycles = 0  # command cycles since start (the log samples every 0.5 s)
        self.submitted_at = self.stepped_at = None  # policy steps' state times (clock)
        self.waited = False  # the notice that no valid LowState came was given
        self.warm_up()

    def connect(self) -> None:
        """Join the robot's DDS domain: LowState in, LowCmd out (once)."""
        if hasattr(self, "channel"):
            return
        self.channel = Channel(self.args.domain, self.args.net)
        self.channel.reader(LOWSTATE, LOWSTATE_LAYOUT, self._on_state, self._on_malformed)
        if self.tracked:
            self.channel.reader(TRACKED, TRACKED_LAYOUT, self._on_tracked)
        self.writer = self.channel.writer(LOWCMD, LOWCMD_LAYOUT)

    # Inputs -----------------------------------------------------------------------------

    def _on_state(self, msg: np.ndarray) -> None:
        crc_less = self.args.simulator_without_crc and int(msg["crc"]) == 0
        if not (crc_less or crc_ok(msg)):
            self.bad_crc += 1
            return
        with self.lock:
            self.state, self.state_time = msg, self.clock()
        self.fresh.set()

    def _on_tracked(self, msg: np.ndarray) -> None:
        body = self.tracked.get(int(msg["body"]))
        if body is not None and msg["valid"]:
            body.add(float(msg["stamp"]), msg["position"], msg["quaternion"], self.clock())

    def tracked_poses(self, now: float) -> tuple[tuple | None, np.ndarray | None]:
        """(object pose, pelvis position) from the tracker, None where not tracked or
        stale; the pelvis carried to now by the leg odometry of the last policy steps."""
        if not self.tracked:
            return None, None
        limit = self.args.tracker_stale
        obj, pelvis = self.tracked[OBJECT], self.tracked[PELVIS]
        return (
            obj.pose(now) if obj.age(now) <= limit else None,
            pelvis.carried(now, self.odometry) if pelvis.age(now) <= limit else None,
        )

    def _on_malformed(self, _) -> None:
        self.bad_crc += 1  # undecodable counts as corrupt: the state goes stale the same way

    def key(self, k: str) -> None:
        if not k:  # end of input: not a key
            return
        if k == "s" and self.mode == Mode.PASSIVE:
            self.transition(Mode.MOVE, "start key")
        elif k == "p" and self.mode == Mode.HOLD:
            refused = self.policy_ready(self.clock())
            if refused:
                self.log.write("refused", key="p", reason=refused)
            else:
                self.transition(Mode.POLICY, "policy key")
        elif k == "h" and self.mode == Mode.POLICY:
            self.leave_policy("hold key")
        elif k in (" ", "e"):
            self.fault("e-stop")
        elif k == "q":
            self.transition(Mode.DAMPING, "quit key")
            self.quit = True
        elif k == "c":
            self.chaining = not self.chaining
            self.log.write("goals", chain=self.chaining)
        elif k in RUNNER_KEYS:  # they change what a policy step reads: between steps
            self.runner_keys.append(k)
            self.apply_runner_keys()

    def apply_runner_keys(self) -> None:
        """The goal and playback keys typed so far, applied while no policy step runs
        (the inference thread reads the runner's clock, goals and last action)."""
        if not self.runner_keys or self.worker.busy:
            return
        keys, self.runner_keys = self.runner_keys, []
        r = self.runner
        for k in keys:
            if r.goal_key(k, self.chaining):
                g = r.goals
                self.log.write("goals", pattern=g.pattern, snapshot=int(g.snapshot[0]),
                               pinned=g.pinned, queued=len(g.queue))  # fmt: skip
            elif k in "+=-[]":
                if k in "+=":
                    self.speed = playback.faster(self.speed)
                elif k == "-":
                    self.speed = playback.slower(self.speed)
                else:
                    step = 1 if k == "]" else -1
                    r.frame = playback.jumped(r.frame, step, self.policy.control_hz, r.last + 1)
                self.log.write("playback", speed=self.speed, frame=r.frame)

    # State machine ----------------------------------------------------------------------

    def transition(self, mode: Mode, reason: str) -> None:
        if self.mode == Mode.DAMPING and mode != Mode.DAMPING:
            return  # damping is final until the node restarts
        self.log.write("transition", clock=round(time.perf_counter(), 6),
                       **{"from": self.mode.value, "to": mode.value, "reason": reason})  # fmt: skip
        self.mode, self.mode_since = mode, self.clock()
        self.move_from = None
        if mode == Mode.POLICY:
            self.runner.reset(0.0)  # goals start from the first policy step's state
            self.goals_logged = 0
            self.submitted_at = self.stepped_at = None  # the first step starts at once
            self.speed = 1.0
            self.targets = g1.DEFAULT_POS.copy()  # the zero action until the first step
        self.worker.discard()  # a step under way was for the state before

    def leave_policy(self, reason: str) -> None:
        """To hold without a jerk: a move from where the policy left the robot, its gains
        ramped to stand's, ending in hold."""
        self.transition(Mode.MOVE, reason)

    def fault(self, reason: str) -> None:
        if self.mode != Mode.DAMPING:
            # clock: the system's monotonic clock, to time the reaction from another process
            self.log.write("fault", reason=reason, mode=self.mode.value,
                           clock=round(time.perf_counter(), 6))  # fmt: skip
            self.transition(Mode.DAMPING, reason)

    def sensors(self, msg: np.ndarray):
        motors, imu = msg["motor_state"][: g1.NUM_JOINTS], msg["imu_state"]
        as64 = (motors["q"], motors["dq"], imu["quaternion"], imu["gyroscope"])
        return tuple(x.astype(np.float64) for x in as64)

    def infer(self, q, dq, imu, gyro) -> np.ndarray:
        """One policy step's raw actions from one cycle's sensors (on the inference
        thread): state estimate, observation and goal tokens, inference, output checks."""
        runner, now = self.runner, self.clock()
        tracked_object, pelvis_position = self.tracked_poses(now)
        state = estimate_state(q, dq, imu, gyro, runner.reference()[0], tracked_object,
                               pelvis_position)  # fmt: skip
        self.odometry.add(now, state.root_lin_vel[0])
        runner.follow_goals(state)  # a pinned goal holds the clock; a chain moves on
        raw = runner.infer(runner.inputs(state))
        if not np.all(np.isfinite(raw)):
            raise ValueError("policy output is not finite")
        if np.abs(raw).max() > EXPLODED * self.policy.action_clip:
            raise ValueError(f"policy output exploded (|action| up to {np.abs(raw).max():.3g})")
        return raw

    def take_policy_step(self) -> None:
        """Apply a finished step's actions (before this cycle's command, so that they go
        out in it); fault on a failed or late step. The reference moves on by the time
        since the last step's state, not by one period: steps that come late or are left
        out on a busy computer must not leave the clip behind the robot's time."""
        raw, reason = self.worker.poll(self.clock())
        if reason:
            self.fault(reason)
        elif raw is not None:
            periods = 1.0
            if self.stepped_at is not None:
                periods = round((self.submitted_at - self.stepped_at) * self.policy.control_hz, 6)
            self.stepped_at = self.submitted_at
            self.targets = self.runner.advance(raw, self.speed * periods)
            self.log_reached_goals()

    def log_reached_goals(self) -> None:
        """Each commanded goal once its time has come, with how far the robot and object
        were from it then (``contract.goals.command.GoalCommand.chain_step``)."""
        reached = [] if self.runner.goals is None else self.runner.goals.reached
        for r in reached[self.goals_logged :]:
            self.log.write("goal_reached", at=r["goal"].at, error_cm=round(r["error_cm"], 2),
                           reached=bool(r["error_cm"] < 100 * GOAL_TOLERANCE))  # fmt: skip
        self.goals_logged = len(reached)

    def start_policy_step(self, sensed: tuple) -> None:
        """Start a step from this cycle's ``sensed`` values once a policy period has passed
        since the last one started (on the clock, not by counting commands: a late
        LowState makes a cycle longer), unless the last one still runs."""
        now, last = self.clock(), self.submitted_at
        due = last is None or now - last > self.period - COMMAND_PERIOD / 2
        if due and self.worker.submit(*sensed, now=now):
            self.submitted_at = now

    def command(self, msg: np.ndarray, age: float) -> tuple[Command, tuple]:
        """This cycle's safe command for the LowState ``msg`` received ``age`` s ago, and
        the sensor values it read."""
        sensed = self.sensors(msg)
        reason = self.check(msg, sensed, age)
        if reason:
            self.fault(reason)
        return self._mode_command(*sensed[:2]), sensed

    def check(self, msg: np.ndarray, sensed: tuple, age: float) -> str | None:
        """Why this LowState must end in damping, or None. The robot type, freshness and
        finite values in every state; in the states that send stiff commands (move,
        hold, policy) also a unit IMU quaternion and the pelvis tilt."""
        q, dq, imu, gyro = sensed
        machine = int(msg["mode_machine"])
        if machine != self.args.mode_machine:
            return f"mode_machine {machine}, expected {self.args.mode_machine} (--mode-machine)"
        if age > self.stale_after:
            return f"stale lowstate ({age * 1000:.0f} ms)"
        if not all(np.all(np.isfinite(x)) for x in (q, dq, imu, gyro)):
            return "non-finite lowstate"
        if self.mode not in (Mode.MOVE, Mode.HOLD, Mode.POLICY):
            return None
        norm = float(np.linalg.norm(imu))
        if abs(norm - 1.0) > QUAT_NORM_TOLERANCE:
            return f"imu quaternion not a rotation (norm {norm:.3g})"
        tilt, limit, lean = tilt_of(imu / norm), self.args.max_tilt, 0.0
        if self.mode == Mode.POLICY:  # a lift bends the pelvis well past a fixed limit
            lean = tilt_of(self.runner.reference()[0].root_quat[0])
            limit = max(limit, lean + LEAN_MARGIN)
        if tilt > limit:
            leans = f" (the reference leans {np.degrees(lean):.0f})" if lean else ""
            return f"pelvis tilt {np.degrees(tilt):.0f} deg{leans}"
        return None

    def _mode_command(self, q: np.ndarray, dq: np.ndarray) -> Command:
        if self.mode == Mode.DAMPING:
            return damping_command(q, dq, self.limits)
        if self.mode == Mode.PASSIVE:
            cmd = damping_command(q, dq, self.limits)
            cmd.kd[:] = 0.0  # passive: enabled motors, zero torque
            return cmd
        if self.mode == Mode.MOVE:
            t = min(1.0, (self.clock() - self.mode_since) / self.args.move_seconds)
            if self.move_from is None:  # from the last command (or the pose, after passive)
                self.move_from = (q if self.previous is None else self.previous).copy()
                self.move_gains = self.gains
            target = (1 - t) * self.move_from + t * g1.DEFAULT_POS
            # the gains too: from the policy's (or none, after passive) to stand's
            kp = (1 - t) * self.move_gains[0] + t * self.stand_kp
            kd = (1 - t) * self.move_gains[1] + t * self.stand_kd
            if t >= 1.0:
                self.transition(Mode.HOLD, "default pose reached")
            return filter_command(target, kp, kd, q, dq, self.previous, self.limits)
        if self.mode == Mode.HOLD:
            return filter_command(
                g1.DEFAULT_POS, self.stand_kp, self.stand_kd, q, dq, self.previous, self.limits
            )
        return filter_command(
            self.targets, self.policy.kp, self.policy.kd, q, dq, self.previous, self.limits
        )

    def publish(self, cmd: Command, mode_machine: int, msg: np.ndarray | None = None) -> None:
        """Send ``cmd`` (in ``msg``'s buffer, default the loop's). Once damping, a stiff
        command computed before the fault (the loop and the watchdog both send) goes out
        as damping."""
        msg = self.command_msg if msg is None else msg
        with self.publish_lock:
            if self.mode == Mode.DAMPING and not cmd.damping:
                cmd = damping_command(None, None, self.limits)
            msg["mode_machine"] = mode_machine
            m = msg["motor_cmd"][: g1.NUM_JOINTS]
            m["mode"] = 1
            m["q"], m["dq"], m["tau"], m["kp"], m["kd"] = cmd.q, cmd.dq, cmd.tau, cmd.kp, cmd.kd
            self.writer.write(seal(msg))
        if not cmd.damping:
            self.previous = cmd.q.copy()
            self.gains = (cmd.kp.copy(), cmd.kd.copy())

    # Loop -------------------------------------------------------------------------------

    def watch(self, now: float) -> bool:
        """The watchdog's check, from outside the loop thread: a loop that has sent
        nothing for ``--max-command-gap`` (stalled in a write, a lock, a bug) is faulted
        and damping is sent in its place (in its own message buffer). Whether it damped."""
        last = self.last_publish
        if last is None or now - last <= self.args.max_command_gap:
            return False
        self.fault(f"command loop stalled ({(now - last) * 1000:.0f} ms)")
        with self.lock:
            machine = int(self.state["mode_machine"]) if self.state is not None else 0
        self.publish(damping_command(None, None, self.limits), machine, self.watchdog_msg)
        return True

    def _watchdog(self) -> None:
        while self.running:
            time.sleep(WATCHDOG_PERIOD)
            if self.running:  # (the loop may have ended while it slept)
                self.watch(self.clock())

    def no_state_notice(self) -> None:
        """Said once when no valid LowState has come a second after start: nothing is
        sent until one does."""
        why = (f"{self.bad_crc} arrived with a bad CRC (a simulator that sends none: "
               "--simulator-without-crc)" if self.bad_crc else "none arrived (robot on, "
               "--net and --domain right?)")  # fmt: skip
        self.log.write("notice", reason=f"no valid LowState after {NO_STATE_NOTICE:g} s",
                       bad_crc=self.bad_crc)  # fmt: skip
        with contextlib.suppress(OSError):
            print(f"notice: no valid LowState yet, nothing is sent; {why}", file=sys.stderr,
                  flush=True)  # fmt: skip

    def warm_up(self) -> None:
        """One policy step on the default pose, discarded, before any DDS traffic: the
        first real step then runs at its usual speed (onnxruntime's and the estimator's
        first calls take tens of ms), and a policy that fails there is refused."""
        standing = (g1.DEFAULT_POS.copy(), np.zeros(g1.NUM_JOINTS), np.array([1.0, 0, 0, 0]),
                    np.zeros(3))  # fmt: skip
        try:
            self.infer(*standing)
        except Exception as e:  # onnxruntime raises its own types
            why = " ".join(str(e).split())  # onnxruntime's messages span lines
            raise ValueError(f"the policy fails on the default standing pose: {why}") from None
        self.runner.reset(0.0)

    def policy_ready(self, now: float) -> str | None:
        """Why the policy cannot be entered now, or None."""
        if self.tracked and self.tracked[OBJECT].age(now) > self.args.tracker_stale:
            return "no fresh tracker pose of the object"
        return None

    def run(self) -> None:
        a = self.args
        # Everything allocated so far (modules, model, clip) leaves the collector's view
        # before the first state arrives: a full collection over it takes tens of ms,
        # longer than the watchdog allows.
        gc.collect()
        gc.freeze()
        self.connect()
        threading.Thread(target=self._watchdog, name="watchdog", daemon=True).start()
        period = 1.0 / COMMAND_HZ
        self.begin()
        keyboard = sys.stdin.isatty() and not a.auto
        if keyboard:
            print(KEYS_HELP, flush=True)
        # The inference thread holds the GIL for its Python parts; a short switch interval
        # hands it back to the command loop within half a millisecond of its wake-up.
        sys.setswitchinterval(0.0005)
        last = None
        while self.running:
            # Each LowState triggers its command at once, so the state-to-command latency
            # is the compute time and the loop runs on the robot's 500 Hz clock. Without
            # one for 1.5 periods a command goes out anyway: the watchdog and damping never
            # wait on the robot.
            self.fresh.wait(1.5 * period)
            self.fresh.clear()
            now = self.clock()
            if last is not None:
                self.timing.add_period(now - last)
            last = now
            if keyboard and select.select([sys.stdin], [], [], 0)[0]:
                k = sys.stdin.read(1)
                if not k:  # the terminal is gone: nobody can steer or stop the robot
                    keyboard = False
                    self.fault("terminal closed")
                    self.quit = True
                self.key(k)
            self.cycle(now)
        self.finish()

    def begin(self) -> None:
        """The session's start: its clock, and with ``--auto`` the move at once."""
        self.start = self.clock()
        if self.args.auto:
            self.transition(Mode.MOVE, "auto start")

    def cycle(self, now: float) -> None:
        """One command cycle at ``now``: the unattended sequence (``--auto``), the command
        for the latest LowState, published, and the policy moved on."""
        a = self.args
        if a.auto:
            held = self.mode == Mode.HOLD and now - self.mode_since > a.hold_seconds
            if held and self.policy_ready(now) is None:
                self.transition(Mode.POLICY, "auto policy")
            if a.seconds and now - self.start > a.seconds and self.mode != Mode.DAMPING:
                self.transition(Mode.DAMPING, "run time over")
            self.quit = self.quit or self.mode == Mode.DAMPING  # unattended: stop after
        if self.quit and self.mode == Mode.DAMPING and now - self.mode_since > 0.5:
            self.running = False
        self.apply_runner_keys()  # those a running step held back
        with self.lock:
            msg, age = self.state, self.clock() - self.state_time
        cycle, self.cycles = self.cycles, self.cycles + 1
        if msg is None:  # nothing to answer before the first LowState
            if not self.waited and now - self.start > NO_STATE_NOTICE:
                self.waited = True  # the notice that no valid LowState came was given
                self.no_state_notice()
            return
        if self.last_publish is not None and now - self.last_publish > a.max_command_gap:
            gap = (now - self.last_publish) * 1000
            self.fault(f"command gap {gap:.0f} ms > {a.max_command_gap * 1000:.0f} ms")
        if self.mode == Mode.POLICY:
            self.take_policy_step()
        sensed = None
        try:
            cmd, sensed = self.command(msg, age)
        except Exception as e:  # a bug in the loop must end in damping, never in silence
            self.fault(f"node error: {type(e).__name__}: {e}")
            cmd = damping_command(None, None, self.limits)  # state-free: kp 0, fixed kd
        self.publish(cmd, int(msg["mode_machine"]))
        self.last_publish = self.clock()
        self.timing.add_latency(self.clock() - self.state_time)
        if cycle % int(COMMAND_HZ / 2) == 0:
            self.log.write("command", mode=self.mode.value, q=np.round(cmd.q, 4).tolist(),
                           kp_max=float(cmd.kp.max()), bad_crc=self.bad_crc,
                           frame=self.runner.frame,
                           clock=round(time.perf_counter(), 6))  # fmt: skip
        if self.mode == Mode.POLICY and self.tracked:
            age = self.tracked[OBJECT].age(now)
            if age > a.tracker_stale:
                stale = "none yet" if np.isinf(age) else f"{age * 1000:.0f} ms"
                self.log.write("tracker", stale=stale)
                self.leave_policy(f"tracker stale (object pose: {stale})")
        if self.mode == Mode.POLICY and sensed is not None:
            self.start_policy_step(sensed)

    def finish(self) -> None:
        """The trace and the exit entry of the session log."""
        a = self.args
        if a.trace is not None:
            self.timing.save(a.trace)
        dropped = {str(b): t.dropped for b, t in self.tracked.items()}  # bad tracker samples
        self.log.write("exit", mode=self.mode.value, bad_crc=self.bad_crc,
                       tracker_dropped=dropped, **self.timing.summary())  # fmt: skip
        if self.log.lost:
            with contextlib.suppress(OSError):
                print(f"warning: {self.log.lost} session-log entries could not be written to "
                      f"{self.log.path}", file=sys.stderr)  # fmt: skip


def main() -> None:
    args = tyro.cli(Args, prog="python deploy/g1_node.py", description=__doc__)
    try:
        use_realtime(args.rt_priority)  # before DDS starts its threads: they inherit it
        node = G1Node(args)
        require_interface(args.net)
        released = check_released(args.net, args.domain, args.motion_service_released)
        node.log.write("motion_service", status=released)
        node.connect()  # an unknown interface is refused here, before the loop
    except (PolicyError, ValueError, FileNotFoundError, MotionServiceError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)

    def stop(*_):
        node.fault("signal")
        node.quit = True  # keep sending damping for 0.5 s, then exit

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the SSH session died
        signal.signal(sig, stop)
    if sys.stdin.isatty() and not args.auto:
        import termios
        import tty

        old = termios.tcgetattr(sys.stdin)
        tty.setcbreak(sys.stdin.fileno())
        try:
            node.run()
        finally:
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, old)
    else:
        node.run()
    os._exit(0)  # cyclonedds threads can delay interpreter exit


if __name__ == "__main__":
    main()
