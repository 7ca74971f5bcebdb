"""The node against the virtual G1 over loopback DDS, end to end and under faults.

Each test starts the virtual G1 and the node as separate processes on their own DDS
domain, watches every LowCmd on the wire, and reads both session logs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deploy.hold_policy import write_hold_policy
from deploy.protocol.channel import LOWCMD, Channel
from deploy.protocol.messages import LOWCMD_LAYOUT, crc_ok
from deploy.safety import SafetyLimits
from robots import g1
from robots.clip import load_clip
from tests.deploy.conftest import TEST_DOMAIN

REPO = Path(__file__).resolve().parents[2]
LIMITS = SafetyLimits()
# Node and virtual G1 as processes in real time: a CI step of their own (pytest -m realtime).
REALTIME = pytest.mark.realtime
POLICIES = REPO / "sim2sim/policies"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from retarget.pipeline import retarget
    from retarget.synthetic import SyntheticConfig, synthetic_motion

    root = tmp_path_factory.mktemp("deploy")
    clip = retarget(synthetic_motion(SyntheticConfig(start=(0.6, 0.0), place_xy=(2.2, 0.0)))).clip
    clip_path = clip.save(root / "clip.npz")
    hold = write_hold_policy(root / "hold.onnx", load_clip(clip_path).object)
    return root, hold, clip_path


class Monitor:
    """Records every LowCmd on the test domain with its arrival time."""

    def __init__(self, channel: Channel):
        self.commands: list[tuple[float, np.ndarray]] = []
        self.recording = False
        self.event = 0.0  # when the test's event (a signal, a closed terminal) happened
        channel.reader(LOWCMD, LOWCMD_LAYOUT, self._add)

    def _add(self, msg):
        if self.recording:
            self.commands.append((time.perf_counter(), msg))


@pytest.fixture(scope="module")
def monitor(channel):
    return Monitor(channel)


def run(
    files, monitor, tmp_path, vg1=(), node=(), seconds=8.0, policy=None, kill_node_at=None, keys=(),
    sig=signal.SIGINT, close_terminal_at=None, log=None, motion=None,
):  # fmt: skip
    """Virtual G1 + node for ``seconds``; ``keys``: (time, key) typed into the node's
    terminal (a pseudo-terminal) instead of running it unattended (--auto);
    ``kill_node_at``: s after the first command, ``sig`` is sent to the node;
    ``close_terminal_at``: s after the first command, its terminal is closed; ``log``:
    the session log's path (default: a file in ``tmp_path``)."""
    _, hold, clip = files
    clip = motion or clip
    domain = TEST_DOMAIN
    monitor.commands = []
    monitor.recording = True
    tmp_path.mkdir(parents=True, exist_ok=True)
    report, log = tmp_path / "vg1.json", log or tmp_path / "session.jsonl"
    v = subprocess.Popen(
        [sys.executable, str(REPO / "deploy/virtual_g1.py"), "--domain", str(domain), "--gantry",
         "--seconds", str(seconds + 2), "--report", str(report), *vg1],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(0.5)
    cmd = [sys.executable, str(REPO / "deploy/g1_node.py"), "--policy", str(policy or hold),
           "--motion", str(clip), "--net", "lo", "--domain", str(domain),
           "--move-seconds", "1.0", "--hold-seconds", "0.5", "--seconds", str(seconds),
           "--log", str(log), *node]  # fmt: skip
    for budget in ("--max-command-gap", "--max-policy-step"):
        if budget not in node:
            # A shared 2-core CI machine deschedules the loop for tens of ms; the budgets
            # have their own test, and the others must not fail for the machine's load.
            cmd += [budget, "0.5"]
    if "--tracker" not in node:
        cmd.append("--object-from-reference")
    terminal, stdin = os.openpty() if keys or close_terminal_at else (None, None)
    n = subprocess.Popen(
        cmd if stdin else [*cmd, "--auto"], stdin=stdin,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # The node discards keys typed before it is up (its terminal setup flushes them)
        # and handles signals once it runs: keys and signals start once it sends
        # commands, however long a loaded machine takes to start it.
        timed = keys or kill_node_at is not None or close_terminal_at is not None
        while timed and not monitor.commands and n.poll() is None:
            time.sleep(0.01)
        start = time.perf_counter()
        for at, key in keys:
            time.sleep(max(0.0, at - (time.perf_counter() - start)))
            os.write(terminal, key.encode())
        if close_terminal_at is not None:
            time.sleep(close_terminal_at)
            for fd in (terminal, stdin):  # the terminal goes away: the node's end reads EOF
                os.close(fd)
            terminal = stdin = None
            monitor.event = time.perf_counter()
        if kill_node_at is not None:
            time.sleep(kill_node_at)
            monitor.event = time.perf_counter()
            n.send_signal(sig)
        out, err = n.communicate(timeout=seconds + 30)
        v.wait(timeout=seconds + 30)
    finally:  # never leave a node or robot running into the next test
        for p in (n, v):
            if p.poll() is None:
                p.kill()
                p.wait()
        for fd in (terminal, stdin):
            if fd is not None:
                os.close(fd)
    monitor.recording = False
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    return entries, json.loads(report.read_text()), list(monitor.commands), out + err


def transitions(entries):
    return [(e["from"], e["to"]) for e in entries if e["kind"] == "transition"]


def check_commands(commands):
    """Every command on the wire: valid CRC, targets and gains within the safety limits."""
    assert commands, "no LowCmd seen"
    for _, msg in commands:
        assert crc_ok(msg)
        motors = msg["motor_cmd"][:29]
        q, kp, kd = motors["q"], motors["kp"], motors["kd"]
        assert np.all(q >= LIMITS.lower - 1e-5) and np.all(q <= LIMITS.upper + 1e-5)
        assert np.all((kp >= 0) & (kp <= LIMITS.max_kp)) and np.all(
            (kd >= 0) & (kd <= LIMITS.max_kd)
        )


def damping_after(commands, entries, since=None):
    """The node's fault entry, and the time from the fault (``since``, the monotonic
    clock; default: the node's detection) to the first damping command on the wire after
    the last stiff one (s)."""
    fault = next(e for e in entries if e["kind"] == "fault")
    stiff = [t for t, m in commands if m["motor_cmd"]["kp"][:29].max() > 0]
    damped = [t for t, m in commands if m["motor_cmd"]["kp"][:29].max() == 0]
    last_stiff = stiff[-1] if stiff else -np.inf
    first_damped_after = min(t for t in damped if t > last_stiff)
    return fault, first_damped_after - (fault["clock"] if since is None else since)


@REALTIME
def test_end_to_end_policy_holds_standing_for_10s(files, monitor, tmp_path):
    # The gantry is released once the policy runs; it then holds the robot on its feet.
    entries, report, commands, _ = run(
        files, monitor, tmp_path, vg1=("--release-after", "3.0"), seconds=14.5
    )
    assert transitions(entries) == [
        ("passive", "move_to_default"), ("move_to_default", "hold"), ("hold", "policy"),
        ("policy", "damping"),
    ]  # fmt: skip
    assert not [e for e in entries if e["kind"] == "fault"]
    start = next(e["t"] for e in entries if e.get("to") == "policy")
    stop = next(e["t"] for e in entries if e.get("to") == "damping")
    assert stop - start >= 10.0
    # On its feet for >= 10 s of policy after the gantry release (3 s, robot clock).
    heights = [h for t, h in report["pelvis_height"] if 3.0 < t < stop]
    assert len(heights) >= 100
    assert heights and min(heights) > 0.7
    assert report["rejected"] == 0 and entries[-1]["bad_crc"] == 0  # CRCs fine both ways
    check_commands(commands)


@pytest.fixture(scope="module")
def lift_files(tmp_path_factory):
    """The bundled lift expert and the clip it was trained on (bundled beside it)."""
    root = tmp_path_factory.mktemp("lift")
    return (
        root,
        REPO / "sim2sim/policies/stage1_lift.onnx",
        REPO / "sim2sim/policies/stage1_lift_standing_clip.npz",
    )


@REALTIME
def test_trained_policy_runs_its_clip_on_the_node(lift_files, monitor, tmp_path):
    """A trained policy acts on the node's own observation for the whole clip, on the
    gantry (the virtual G1 has no box to lean on): finite, in-range actions in time, and
    the robot moved through the clip's crouch and reach."""
    entries, _, commands, _ = run(lift_files, monitor, tmp_path, seconds=8.0)
    assert transitions(entries) == [
        ("passive", "move_to_default"), ("move_to_default", "hold"), ("hold", "policy"),
        ("policy", "damping"),
    ]  # fmt: skip
    assert not [e for e in entries if e["kind"] == "fault"]
    reach = max(np.abs(m["motor_cmd"]["q"][:29] - g1.DEFAULT_POS).max() for _, m in commands)
    assert reach > 0.3, reach  # the policy moves the robot through its clip
    check_commands(commands)


STALE = 0.06  # s: three policy periods without a LowState, the node's stale limit


@REALTIME
@pytest.mark.parametrize(
    ("vg1", "reason", "detection"),
    [
        (("--silent-after", "3"), "stale lowstate", STALE),
        (("--bad-crc-after", "3"), "stale lowstate", STALE),  # bad CRCs are dropped
        (("--nan-after", "3"), "non-finite lowstate", 0.0),
        (("--zero-quat-after", "3"), "imu quaternion not a rotation", 0.0),
        (("--mode-machine-after", "3"), "mode_machine 4, expected 5", 0.0),
    ],
)
def test_robot_side_faults_end_in_damping(files, monitor, tmp_path, vg1, reason, detection):
    """Timed from the first faulty (or missing) LowState the virtual G1 had due: the node
    damps within its detection time plus one 20 ms policy period (+ transport)."""
    entries, report, commands, _ = run(files, monitor, tmp_path, vg1=vg1, seconds=6.0)
    fault, delay = damping_after(commands, entries, since=report["fault_at"])
    print(f"reaction to {reason!r}: {delay * 1000:.1f} ms from the injected fault")
    assert reason in fault["reason"]
    assert transitions(entries)[-1][1] == "damping"
    assert delay < detection + 0.03, delay
    check_commands(commands)


@REALTIME
def test_robot_shoved_over_ends_in_damping(files, monitor, tmp_path):
    """A fall is timed from the node's detection of the tilt."""
    vg1 = ("--release-after", "2.5", "--push-after", "3.5")
    entries, _, commands, _ = run(files, monitor, tmp_path, vg1=vg1, seconds=6.0)
    fault, delay = damping_after(commands, entries)
    print(f"reaction to a pelvis tilt: {delay * 1000:.1f} ms from detection")
    assert "pelvis tilt" in fault["reason"]
    assert transitions(entries)[-1][1] == "damping"
    assert delay < 0.02, delay
    check_commands(commands)


def broken_policy(hold: Path, how: str) -> Path:
    """The hold policy made to output NaN, to explode, or to raise inside onnxruntime."""
    import onnx
    from onnx import helper

    model = onnx.load(str(hold))
    graph = model.graph
    if how == "nan":
        weights = graph.initializer[0]
        weights.float_data[:] = [float("nan")] * len(weights.float_data)
    elif how == "exploding":
        bias = graph.initializer[1]
        bias.float_data[:] = [1e4] * len(bias.float_data)
    else:  # 29 actions reshaped to rows of 7: fails at run time, not at load
        graph.node[-1].output[0] = "raw"
        shape = helper.make_tensor("rows_of_7", onnx.TensorProto.INT64, [2], [-1, 7])
        graph.initializer.append(shape)
        graph.node.append(helper.make_node("Reshape", ["raw", "rows_of_7"], ["actions"]))
    out = hold.with_name(f"{how}_policy.onnx")
    onnx.save(model, str(out))
    return out


@pytest.mark.parametrize(
    ("how", "reason"), [("nan", "not finite"), ("exploding", "exploded"), ("exception", "")]
)
def test_a_policy_failing_on_the_standing_pose_is_refused_first(files, tmp_path, how, reason):
    """The node's warm-up step runs the policy on the default pose before it joins DDS:
    a policy that fails there is refused with one line (a failure later, in the loop,
    ends in damping: tests/deploy/test_node_checks.py)."""
    _, hold, clip = files
    log = tmp_path / "session.jsonl"
    out = subprocess.run(
        [sys.executable, str(REPO / "deploy/g1_node.py"), "--policy",
         str(broken_policy(hold, how)), "--motion", str(clip), "--net", "lo", "--domain",
         str(TEST_DOMAIN), "--object-from-reference", "--auto", "--log", str(log)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: the policy fails on the default standing pose")
    assert reason in out.stderr and out.stderr.count("\n") == 1 and not log.exists()


@REALTIME
@pytest.mark.parametrize(
    ("node", "reason"),
    [
        (("--max-policy-step", "0.0001"), "policy step over budget"),
        (("--max-command-gap", "0.0021"), "command gap"),
    ],
)
def test_the_node_watches_its_own_timing(files, monitor, tmp_path, node, reason):
    """Budgets no real loop meets stand in for a slow or hung inference (0.1 ms per
    step) and a stalled command loop (2.1 ms between commands at 500 Hz): the loop,
    apart from inference, damps on time."""
    entries, _, commands, _ = run(files, monitor, tmp_path, seconds=5.0, node=node)
    fault, delay = damping_after(commands, entries)
    print(f"reaction to {reason!r}: {delay * 1000:.1f} ms from detection")
    # (a stalled loop is seen by the loop itself or by the watchdog beside it)
    assert fault["reason"].startswith(reason) or (
        reason == "command gap" and fault["reason"].startswith("command loop stalled")
    )
    assert delay < 0.02
    check_commands(commands)


@REALTIME
def test_tracked_object_feeds_the_policy_and_a_silent_tracker_leaves_it(files, monitor,
                                                                        tmp_path):  # fmt: skip
    """The virtual G1 publishes the object's and pelvis's poses (30 ms late, 5 mm noise,
    5 % lost captures); the policy runs on them, and when the tracker falls silent the
    node leaves the policy for hold."""
    _, _, clip = files
    tracker = ("--object-clip", str(clip), "--tracker.latency", "0.03", "--tracker.noise",
               "0.005", "--tracker.dropout", "0.05")  # fmt: skip
    entries, _, commands, _ = run(files, monitor, tmp_path / "ok", vg1=tracker,
                                  node=("--tracker",), seconds=5.0)  # fmt: skip
    assert not [e for e in entries if e["kind"] in ("fault", "tracker")]
    assert ("hold", "policy") in transitions(entries)
    entries, _, commands, _ = run(
        files, monitor, tmp_path / "silent", vg1=(*tracker, "--tracker-silent-after", "3.5"),
        node=("--tracker",), seconds=6.0,
    )  # fmt: skip
    reasons = [e["reason"] for e in entries if e["kind"] == "transition"]
    assert any(r.startswith("tracker stale") for r in reasons), reasons
    # to hold through a move from where the policy left the robot
    assert transitions(entries)[-3:] == [
        ("policy", "move_to_default"), ("move_to_default", "hold"), ("hold", "damping")
    ]  # fmt: skip
    check_commands(commands)


@REALTIME
def test_keyboard_start_policy_and_emergency_stop(files, monitor, tmp_path):
    keys = [(0.2, "s"), (2.2, "p"), (2.6, "]"), (2.8, "+"), (3.5, " "), (4.0, "q")]
    entries, _, commands, output = run(files, monitor, tmp_path, seconds=8.0, keys=keys)
    assert "keys:" in output, output
    assert transitions(entries)[:4] == [
        ("passive", "move_to_default"), ("move_to_default", "hold"), ("hold", "policy"),
        ("policy", "damping"),
    ]  # fmt: skip
    jump, faster = [e for e in entries if e["kind"] == "playback"]
    assert 50 <= jump["frame"] <= 75 and jump["speed"] == 1.0  # 1 s = 50 policy steps
    assert faster["speed"] == 1.25
    fault, delay = damping_after(commands, entries)
    print(f"reaction to the e-stop key: {delay * 1000:.1f} ms from detection")
    assert fault["reason"] == "e-stop" and delay < 0.02
    check_commands(commands)


@REALTIME
def test_without_a_valid_lowstate_the_node_says_so_and_sends_nothing(files, monitor, tmp_path):
    """A robot (or Unitree's simulator) whose LowStates all fail the CRC: after a second
    the node says why nothing happens, and sends nothing."""
    _, _, commands, out = run(files, monitor, tmp_path, vg1=("--bad-crc-after", "0"),
                              seconds=3.0)  # fmt: skip
    assert "notice: no valid LowState yet, nothing is sent;" in out
    assert "bad CRC" in out and "--simulator-without-crc" in out
    assert not commands


@REALTIME
def test_the_bundled_expert_does_its_task_through_the_node(files, monitor, tmp_path):
    """The bundled lift expert on its clip through the node on the virtual G1, off the
    gantry, the box and pelvis seen through the virtual G1's tracker (30 ms, 5 mm):
    judged from the policy's start as sim2sim judges an episode (``contract.judge``),
    without a fault. The expert itself does the task in about 4 of 5 sessions through
    the node (docs/experiments/stage1.md), so a second session may do what the first did
    not; a node that breaks the task fails both."""
    from contract.judge import judge_recording
    from robots.clip import load_clip
    from robots.scene import build_scene

    policy, motion = POLICIES / "stage1_lift.onnx", POLICIES / "stage1_lift_standing_clip.npz"
    clip = load_clip(motion)
    model = build_scene([clip.object]).compile()
    vg1 = ("--object-clip", str(motion), "--clock-from-command", "--release-after", "0.8")
    outcomes = []
    for attempt in range(2):
        entries, report, commands, _ = run(files, monitor, tmp_path / str(attempt), vg1=vg1,
                                           node=("--tracker",), policy=policy, motion=motion,
                                           seconds=1.5 + clip.duration + 1.0)  # fmt: skip
        took_over = next(e["clock"] for e in entries if e.get("to") == "policy")
        rows = np.array(report["qpos"])  # time, simulated time, qpos
        # The node's clock runs on the LowStates, so on the simulated time, which a busy
        # machine leaves behind the wall clock.
        start = np.interp(took_over - report["started"], rows[:, 0], rows[:, 1])
        rows = rows[rows[:, 1] >= start]
        outcome = judge_recording(model, clip, 50.0, rows[:, 1] - start, rows[:, 2:])
        faults = [e["reason"] for e in entries if e["kind"] == "fault"]
        print(f"through the node: {outcome}, faults {faults}")
        outcomes.append((outcome["terminations"], faults))
        check_commands(commands)
        if outcome["success"] and not faults:
            return
    raise AssertionError(f"the task failed through the node twice: {outcomes}")


@REALTIME
def test_a_stage2_policy_reaches_a_snapshot_goal_through_the_node(files, monitor, tmp_path):
    """The bundled Stage 2 lift policy through the node on the virtual G1, off the
    gantry, seeing box and pelvis through the tracker, driven from the keyboard as an
    operator would: ``s``, ``p``, then ``6`` pins the snapshot goal at 60 % of the clip
    (the box held up) just before its time. The goal is reached within the goal
    tolerance (the node's own log), the box is still off the floor when the operator
    quits half a second later, and nothing faults. The policy reaches the goal within the
    tolerance in about two of three sessions (docs/deployment.md), so three sessions are
    allowed; a node that breaks the task fails all three."""
    from robots.scene import build_scene

    policy, motion = POLICIES / "stage2_lift.onnx", POLICIES / "stage1_lift_standing_clip.npz"
    clip = load_clip(motion)
    model = build_scene([clip.object]).compile()
    box_z = 2 + model.jnt_qposadr[model.body(clip.object.name).jntadr[0]] + 2  # in a row
    up = clip.object_pos[0, 2] + 0.15  # m: the box off the floor (it rests at its start)
    vg1 = ("--object-clip", str(motion), "--clock-from-command", "--release-after", "0.8")
    # s at 0.2 s, policy at 2.0 s (move 1.0 s, hold 0.5 s); the goal at 60 % of the clip
    # is 3.9 s into it, so 6 at 2.9 s of policy aims the clock where it already is.
    # q half a second after the goal's time: holding a pinned goal for longer is not what
    # this checks (the policy then falls in about a third of sessions, docs/deployment.md).
    keys = [(0.2, "s"), (2.0, "p"), (4.9, "6"), (6.4, "q")]
    outcomes = []
    for attempt in range(3):
        entries, report, commands, _ = run(files, monitor, tmp_path / str(attempt), vg1=vg1,
                                           node=("--tracker", "--goals", "snapshot"),
                                           policy=policy, motion=motion, seconds=7.5,
                                           keys=keys)  # fmt: skip
        reached = [e for e in entries if e["kind"] == "goal_reached"]
        policy_at = next((e["t"] for e in entries if e.get("to") == "policy"), np.nan)
        faults = [(e["reason"], round(e["t"] - policy_at, 2)) for e in entries
                  if e["kind"] == "fault"]  # fmt: skip
        rows = np.array(report["qpos"])  # time, simulated time, qpos
        ended = next((e["clock"] for e in entries if e.get("to") == "damping"), np.inf)
        held = rows[rows[:, 0] < ended - report["started"], box_z][-1]
        print(f"goals {reached}, box at {held:.2f} m at the end, faults {faults}")
        outcomes.append((reached, round(float(held), 2), faults))
        check_commands(commands)
        goal = reached[0] if reached else {}
        if goal.get("at") == 0.6 and goal.get("reached") and held > up and not faults:
            return
    raise AssertionError(f"the snapshot goal was not reached in three sessions: {outcomes}")


def stiff_after(commands, at: float) -> int:
    """Stiff commands on the wire after the first damping one that follows ``at``."""
    damped = [t for t, m in commands if t > at and m["motor_cmd"]["kp"][:29].max() == 0]
    assert damped, "no damping command after the event"
    return sum(t > damped[0] and m["motor_cmd"]["kp"][:29].max() > 0 for t, m in commands)


@REALTIME
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_or_hangup_signal_damps_first(files, monitor, tmp_path, sig):
    """A service stop (SIGTERM) and an SSH drop (SIGHUP) in policy mode: damping, then
    exit; no stiff command after it."""
    entries, _, commands, _ = run(files, monitor, tmp_path, seconds=6.0, kill_node_at=3.0,
                                  sig=sig)  # fmt: skip
    fault, delay = damping_after(commands, entries, since=monitor.event)
    print(f"reaction to {sig.name}: {delay * 1000:.1f} ms from the signal")
    assert fault["reason"] == "signal" and fault["mode"] == "policy" and delay < 0.05
    assert stiff_after(commands, monitor.event) == 0


@REALTIME
def test_a_closed_terminal_damps_first(files, monitor, tmp_path):
    entries, _, commands, _ = run(files, monitor, tmp_path, seconds=6.0, keys=((0.1, "s"),),
                                  close_terminal_at=2.0)  # fmt: skip
    fault, delay = damping_after(commands, entries, since=monitor.event)
    print(f"reaction to a closed terminal: {delay * 1000:.1f} ms from closing it")
    assert fault["reason"] == "terminal closed" and delay < 0.05
    assert stiff_after(commands, monitor.event) == 0


@REALTIME
def test_a_full_disk_never_keeps_the_robot_stiff(files, monitor, tmp_path):
    """Every session-log write fails (/dev/full): the node runs, stops into damping at
    its run time and says how many entries were lost."""
    _, _, commands, out = run(files, monitor, tmp_path, seconds=3.0, log=Path("/dev/full"))
    assert "session-log entries could not be written" in out
    stiff = [t for t, m in commands if m["motor_cmd"]["kp"][:29].max() > 0]
    assert stiff and stiff_after(commands, stiff[0]) == 0  # damping came, and nothing after
    check_commands(commands)


@REALTIME
def test_stop_signal_and_restart(files, monitor, tmp_path):
    entries, _, commands, _ = run(files, monitor, tmp_path, seconds=10.0, kill_node_at=3.0)
    fault, delay = damping_after(commands, entries)
    print(f"reaction to SIGINT: {delay * 1000:.1f} ms from detection")
    assert fault["reason"] == "signal" and delay < 0.02
    assert stiff_after(commands, monitor.event) == 0
    # A restarted node starts over from passive; nothing carries over.
    entries2, _, commands2, _ = run(files, monitor, tmp_path / "again", seconds=3.0)
    assert transitions(entries2)[0] == ("passive", "move_to_default")
    check_commands(commands2)


@pytest.fixture(scope="module")
def latent_policies(files):
    """Stage 2 and Stage 3 policies: distilled for one iteration from the bundled Stage 1
    policy, then fine-tuned for one iteration."""
    from tests import tiny
    from training.configs import Stage3Config
    from training.export import export_latent
    from training.inbetween import InbetweenConfig
    from training.stage2 import train as train2
    from training.stage3 import train as train3

    root, _, clip_path = files
    expert = REPO / "tests/fixtures/stage1_synthetic.onnx"
    train2(tiny.stage2(expert, clip_path), root / "stage2", [load_clip(clip_path)], quiet=True)
    export_latent(root / "stage2", root / "stage2.onnx", steps=4)
    cfg3 = Stage3Config(init=str(root / "stage2"), iterations=1, placement=tiny.FOUR,
                        steps_per_iter=4, task=InbetweenConfig(fallen_states=4))  # fmt: skip
    train3(cfg3, root / "stage3", quiet=True)
    export_latent(root / "stage3", root / "stage3.onnx", steps=4)
    return {2: root / "stage2.onnx", 3: root / "stage3.onnx"}


@REALTIME
@pytest.mark.parametrize("stage", [2, 3])
def test_goal_conditioned_policy_runs_on_the_node(files, monitor, tmp_path, latent_policies,
                                                  stage):  # fmt: skip
    entries, report, commands, _ = run(
        files, monitor, tmp_path, policy=latent_policies[stage], node=("--goals", "snapshot"),
        seconds=5.0,
    )  # fmt: skip
    assert transitions(entries) == [
        ("passive", "move_to_default"), ("move_to_default", "hold"), ("hold", "policy"),
        ("policy", "damping"),
    ]  # fmt: skip
    assert not [e for e in entries if e["kind"] == "fault"] and report["rejected"] == 0
    check_commands(commands)


def test_bad_policy_file_is_refused_before_any_traffic(files, tmp_path):
    root, _, clip = files
    bad = root / "broken.onnx"
    bad.write_bytes(b"broken")
    cmd = [sys.executable, str(REPO / "deploy/g1_node.py"), "--policy", str(bad),
           "--motion", str(clip), "--net", "lo", "--domain", "119"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "not a loadable ONNX" in out.stderr


@pytest.mark.parametrize("program", ["g1_node.py", "virtual_g1.py"])
def test_unknown_interface_is_a_clear_error(files, program):
    _, hold, clip = files
    args = ["--policy", str(hold), "--motion", str(clip), "--object-from-reference"]
    args = args if program == "g1_node.py" else []
    cmd = [sys.executable, str(REPO / "deploy" / program), *args, "--net", "nosuch0"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "no network interface 'nosuch0'" in out.stderr and "Traceback" not in out.stderr


def test_node_refuses_an_unchecked_motion_service(files):
    """On a robot's interface without unitree_sdk2py the release must be declared."""
    import importlib.util
    import socket

    if importlib.util.find_spec("unitree_sdk2py") is not None:
        pytest.skip("with unitree_sdk2py the node asks the robot instead")
    nic = next((n for _, n in socket.if_nameindex() if n != "lo"), None)
    if nic is None:
        pytest.skip("no network interface besides loopback")
    _, hold, clip = files
    cmd = [sys.executable, str(REPO / "deploy/g1_node.py"), "--policy", str(hold),
           "--motion", str(clip), "--net", nic, "--domain", "119",
           "--object-from-reference"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--motion-service-released" in out.stderr


def test_node_imports_no_torch():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "import deploy.g1_node, deploy.virtual_g1\n"
        "assert 'torch' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


@REALTIME
def test_tilt_during_the_move_to_the_default_pose_ends_in_damping(files, monitor, tmp_path):
    """The robot is shoved over while the node still moves it to the default pose (the
    audit found 1.8 s more stiff commands there): damping, from the move state."""
    vg1 = ("--clock-from-command", "--release-after", "0.1", "--push-after", "0.2")
    entries, _, commands, _ = run(files, monitor, tmp_path, vg1=vg1, node=("--move-seconds", "4"),
                                  seconds=6.0)  # fmt: skip
    fault, delay = damping_after(commands, entries)
    print(f"reaction to a tilt during the move: {delay * 1000:.1f} ms from detection")
    assert "pelvis tilt" in fault["reason"] and fault["mode"] == "move_to_default"
    assert delay < 0.02, delay
    check_commands(commands)
