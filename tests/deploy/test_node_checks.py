"""The node's per-LowState checks, state by state, without DDS or real time: which
LowStates end in damping and in which states."""

import json
from pathlib import Path

import numpy as np
import pytest

from deploy.g1_node import Args, G1Node, Mode
from deploy.hold_policy import write_hold_policy
from deploy.protocol.messages import LOWSTATE_LAYOUT
from robots import g1
from robots.clip import MotionClip
from robots.objects import ObjectSpec

STIFF = (Mode.MOVE, Mode.HOLD, Mode.POLICY)
TILTED = [np.cos(0.5), np.sin(0.5), 0.0, 0.0]  # 57 degrees about x


@pytest.fixture(scope="module")
def node_args(tmp_path_factory):
    root = tmp_path_factory.mktemp("checks")
    box = ObjectSpec("box", "box", (0.3, 0.3, 0.3), mass=1.0)
    t = 10
    clip = MotionClip(
        fps=50.0, root_pos=np.tile([0.0, 0.0, g1.DEFAULT_ROOT_HEIGHT], (t, 1)),
        root_quat=np.tile([1.0, 0, 0, 0], (t, 1)), joint_pos=np.tile(g1.DEFAULT_POS, (t, 1)),
        object_pos=np.tile([0.6, 0.0, 0.15], (t, 1)), object_quat=np.tile([1.0, 0, 0, 0], (t, 1)),
        object=box, contact=np.zeros((t, 5), np.uint8), source={},
    )  # fmt: skip
    clip_path = clip.save(root / "clip.npz")
    policy = write_hold_policy(root / "hold.onnx", box)
    return root, policy, clip_path


def node_in(mode: Mode, node_args, tmp_path) -> G1Node:
    _, policy, clip = node_args
    node = G1Node(Args(policy=policy, motion=clip, net="lo", log=tmp_path / "session.jsonl",
                       object_from_reference=True))  # fmt: skip
    node.mode = mode
    return node


def lowstate(quaternion=(1.0, 0.0, 0.0, 0.0), mode_machine=5) -> np.ndarray:
    msg = LOWSTATE_LAYOUT.new()
    msg["mode_machine"] = mode_machine
    msg["imu_state"]["quaternion"] = quaternion
    msg["motor_state"]["q"][: g1.NUM_JOINTS] = g1.DEFAULT_POS
    return msg


def reaction(mode: Mode, msg, node_args, tmp_path) -> tuple[str | None, bool]:
    """(fault reason, whether the command sent for ``msg`` is damping)."""
    node = node_in(mode, node_args, tmp_path)
    reason = node.check(msg, node.sensors(msg), age=0.0)
    cmd, _ = node.command(msg, age=0.0)
    assert (node.mode == Mode.DAMPING) == (reason is not None)
    return reason, cmd.damping


@pytest.mark.parametrize("mode", STIFF)
def test_an_upright_robot_of_the_right_type_passes(mode, node_args, tmp_path):
    assert reaction(mode, lowstate(), node_args, tmp_path) == (None, False)


@pytest.mark.parametrize("mode", STIFF)
def test_tilt_is_a_fault_in_every_stiff_state(mode, node_args, tmp_path):
    reason, damping = reaction(mode, lowstate(TILTED), node_args, tmp_path)
    assert reason == "pelvis tilt 57 deg" and damping


def test_in_policy_the_tilt_limit_grows_with_the_references_lean(node_args, tmp_path):
    """A lift bends the pelvis past any fixed limit: in policy the robot may lean as far
    as the reference leans plus 0.35 rad; upright is never a fall; in hold the fixed
    limit holds whatever the clip."""
    node = node_in(Mode.POLICY, node_args, tmp_path)
    lean = 0.55  # rad, half the angle of the reference's rotation about x (63 degrees)
    node.runner.refs.data["root_quat"][:] = [np.cos(lean), np.sin(lean), 0.0, 0.0]
    for quaternion in (TILTED, (1.0, 0.0, 0.0, 0.0)):
        assert node.check(lowstate(quaternion), node.sensors(lowstate(quaternion)), 0.0) is None
    lying = [np.cos(0.75), np.sin(0.75), 0.0, 0.0]  # 86 degrees
    reason = node.check(lowstate(lying), node.sensors(lowstate(lying)), age=0.0)
    assert reason == "pelvis tilt 86 deg (the reference leans 63)"
    node.mode = Mode.HOLD
    assert node.check(lowstate(TILTED), node.sensors(lowstate(TILTED)), age=0.0)


@pytest.mark.parametrize("mode", STIFF)
@pytest.mark.parametrize("quaternion", [(0, 0, 0, 0), (2, 0, 0, 0), (0.5, 0, 0, 0)])
def test_a_quaternion_that_is_no_rotation_is_a_fault(mode, quaternion, node_args, tmp_path):
    reason, damping = reaction(mode, lowstate(quaternion), node_args, tmp_path)
    assert reason.startswith("imu quaternion not a rotation") and damping


def test_passive_sends_no_torque_whatever_the_imu(node_args, tmp_path):
    node = node_in(Mode.PASSIVE, node_args, tmp_path)
    msg = lowstate((0, 0, 0, 0))
    cmd, _ = node.command(msg, age=0.0)
    assert node.mode == Mode.PASSIVE  # zero gains: nothing stiff to stop
    assert not cmd.kp.any() and not cmd.kd.any()


@pytest.mark.parametrize("mode", [Mode.PASSIVE, *STIFF])
def test_another_robot_type_is_a_fault_in_every_state(mode, node_args, tmp_path):
    reason, damping = reaction(mode, lowstate(mode_machine=4), node_args, tmp_path)
    assert reason == "mode_machine 4, expected 5 (--mode-machine)" and damping


def test_the_expected_robot_type_is_an_option(node_args, tmp_path):
    _, policy, clip = node_args
    args = Args(policy=policy, motion=clip, net="lo", log=tmp_path / "s.jsonl", mode_machine=4,
                object_from_reference=True)  # fmt: skip
    node = G1Node(args)
    node.mode = Mode.HOLD
    msg = lowstate(mode_machine=4)
    assert node.check(msg, node.sensors(msg), age=0.0) is None


def test_a_policy_observing_the_object_needs_an_object_source(node_args, tmp_path):
    _, policy, clip = node_args
    with pytest.raises(ValueError, match=r"observes the object.*--tracker.*--object-from-"):
        G1Node(Args(policy=policy, motion=clip, net="lo", log=tmp_path / "s.jsonl"))
    with pytest.raises(ValueError, match="exclude each other"):
        G1Node(Args(policy=policy, motion=clip, net="lo", log=tmp_path / "s.jsonl",
                    tracker=True, object_from_reference=True))  # fmt: skip


def test_tracked_object_reaches_the_state_until_it_goes_stale(node_args, tmp_path):
    import time

    from contract.estimator import estimate_state
    from deploy.protocol.tracking import OBJECT, tracked_pose

    _, policy, clip = node_args
    node = G1Node(Args(policy=policy, motion=clip, net="lo", log=tmp_path / "s.jsonl",
                       tracker=True, tracker_latency=0.0, tracker_stale=0.1))  # fmt: skip
    node._on_tracked(tracked_pose(1.0, OBJECT, [0.7, 0.1, 0.2], [1.0, 0, 0, 0]))
    now = time.perf_counter()
    tracked_object, tracked_pelvis = node.tracked_poses(now)
    assert tracked_pelvis is None  # never tracked: the reference's
    msg = lowstate()
    q, dq, imu, gyro = node.sensors(msg)
    state = estimate_state(q, dq, imu, gyro, node.runner.reference()[0], tracked_object)
    np.testing.assert_allclose(state.object_pos[0], [0.7, 0.1, 0.2])
    assert node.tracked_poses(now + 0.2) == (None, None)  # stale


def test_the_node_starts_without_torch_or_trimesh(node_args, tmp_path):
    """The robot side is numpy + onnxruntime: the node and everything it imports load
    with torch and trimesh absent, and a start refused at the interface check leaves
    no session log behind."""
    import subprocess
    import sys

    _, policy, clip = node_args
    repo = Path(__file__).resolve().parents[2]
    code = (
        "import runpy, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'trimesh'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.argv = ['g1_node.py', '--policy', {str(policy)!r}, '--motion', {str(clip)!r},\n"
        "            '--net', 'no-such-interface', '--object-from-reference']\n"
        f"runpy.run_path({str(repo / 'deploy/g1_node.py')!r}, run_name='__main__')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120, env={"PYTHONPATH": str(repo)})  # fmt: skip
    assert out.returncode == 2 and "no-such-interface" in out.stderr, out.stderr
    assert "blocked" not in out.stderr
    assert not any(tmp_path.rglob("*.jsonl"))


def test_the_node_takes_the_goal_keys_of_sim2sims_viewer(stage2_run, clip_file, tmp_path):
    from training.export import export_latent

    export_latent(stage2_run, tmp_path / "s2.onnx", steps=4)
    node = G1Node(Args(policy=tmp_path / "s2.onnx", motion=clip_file, net="lo",
                       log=tmp_path / "s.jsonl", object_from_reference=True))  # fmt: skip
    goals = node.runner.goals
    node.key("5")
    assert goals.pinned and goals.snapshot[0] == round(0.5 * node.runner.last)
    # At the goal's time, exactly where the clip has it: logged once, as reached.
    node.runner.frame = float(goals.snapshot[0])
    node.runner.follow_goals(node.runner.reference()[0])
    node.log_reached_goals()
    node.log_reached_goals()
    node.key("c")
    node.key("7")
    assert node.chaining and len(goals.queue) == 1
    node.key("g")
    assert not goals.pinned and not goals.queue
    logged = (tmp_path / "s.jsonl").read_text()
    assert '"kind": "goals"' in logged and '"chain": true' in logged
    reached = [e for e in map(json.loads, logged.splitlines()) if e["kind"] == "goal_reached"]
    assert len(reached) == 1 and reached[0]["at"] == 0.5 and reached[0]["reached"]
    assert reached[0]["error_cm"] < 1.0


def test_a_log_that_cannot_be_written_never_keeps_the_robot_stiff(node_args, tmp_path):
    """Disk full: the entry is lost and counted, the fault still ends in damping."""
    _, policy, clip = node_args
    node = G1Node(Args(policy=policy, motion=clip, net="lo", log=Path("/dev/full"),
                       object_from_reference=True))  # fmt: skip
    node.mode = Mode.POLICY
    node.fault("test")
    assert node.mode == Mode.DAMPING and node.log.lost >= 1


def test_end_of_input_is_no_key(node_args, tmp_path):
    """A closed terminal reads as '' forever: it is no playback or goal key."""
    node = node_in(Mode.POLICY, node_args, tmp_path)
    frame = node.runner.frame
    for _ in range(3):
        node.key("")
    assert node.speed == 1.0 and node.runner.frame == frame and node.mode == Mode.POLICY


def test_hold_from_the_policy_keeps_the_pose_and_ramps_the_gains(node_args, tmp_path):
    """Leaving the policy for hold (the h key, a stale tracker) starts where the policy
    left the robot, with the policy's gains, and reaches stand's pose and gains over the
    move: no snap to the default pose at stand's stiffness."""
    node = node_in(Mode.POLICY, node_args, tmp_path)
    crouched = np.clip(g1.DEFAULT_POS + 0.5, g1.JOINT_LOWER + 0.05, g1.JOINT_UPPER - 0.05)
    node.previous, node.gains = crouched.copy(), (node.policy.kp.copy(), node.policy.kd.copy())
    node.key("h")
    assert node.mode == Mode.MOVE
    cmd = node._mode_command(crouched, np.zeros(g1.NUM_JOINTS))
    np.testing.assert_allclose(cmd.q, crouched, atol=1e-3)
    np.testing.assert_allclose(cmd.kp, node.policy.kp, rtol=1e-3)
    node.mode_since -= node.args.move_seconds / 2  # half way
    node.previous = cmd.q
    for _ in range(200):  # a robot that follows (the command filter limits each step)
        cmd = node._mode_command(node.previous, np.zeros(g1.NUM_JOINTS))
        node.previous = cmd.q
    np.testing.assert_allclose(cmd.kp, (node.policy.kp + node.stand_kp) / 2, rtol=1e-2)
    np.testing.assert_allclose(cmd.q, (crouched + g1.DEFAULT_POS) / 2, atol=1e-2)
    node.mode_since -= node.args.move_seconds
    node._mode_command(crouched, np.zeros(g1.NUM_JOINTS))
    assert node.mode == Mode.HOLD


def test_the_policy_is_not_entered_without_a_fresh_tracked_object(node_args, tmp_path):
    import json
    import time

    _, policy, clip = node_args
    log = tmp_path / "session.jsonl"
    node = G1Node(Args(policy=policy, motion=clip, net="lo", log=log, tracker=True))
    node.mode = Mode.HOLD
    node.key("p")
    assert node.mode == Mode.HOLD
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["kind"] == "refused" and "tracker" in entry["reason"]
    now = time.perf_counter()
    node.tracked[0].add(1.0, [0.6, 0.0, 0.15], [1.0, 0, 0, 0], now)
    assert node.policy_ready(now) is None
    node.key("p")
    assert node.mode == Mode.POLICY


def test_the_warm_up_step_leaves_the_runner_as_it_was(node_args, tmp_path):
    node = node_in(Mode.PASSIVE, node_args, tmp_path)
    node.warm_up()
    assert node.runner.frame == 0.0 and not node.runner.last_action.any()


def test_the_reference_keeps_the_robots_time_when_cycles_come_late(node_args, tmp_path):
    """LowStates 3 ms apart instead of 2 (a busy computer): the policy still steps every
    20 ms of the clock and the reference follows the clock, not the count of steps."""
    _, policy, clip = node_args
    now = [0.0]
    node = G1Node(Args(policy=policy, motion=clip, net="lo", log=tmp_path / "session.jsonl",
                       object_from_reference=True), clock=lambda: now[0])  # fmt: skip
    node.transition(Mode.POLICY, "test")
    sensed = node.sensors(lowstate())
    starts = []
    for k in range(50):  # 0.15 s
        now[0] = 0.003 * k
        node.take_policy_step()
        node.start_policy_step(sensed)
        if node.submitted_at is not None and node.submitted_at not in starts:
            starts.append(node.submitted_at)
        while node.worker.busy:  # inference takes no time on this clock
            pass
    assert np.diff(starts).max() <= 0.021 + 1e-9
    # the first step moves the clock one period on, every later one by its state's time
    assert node.runner.frame == pytest.approx(1 + 50 * starts[-2])


def test_a_policy_step_failing_in_the_loop_ends_in_damping(node_args, tmp_path, monkeypatch):
    node = node_in(Mode.POLICY, node_args, tmp_path)
    monkeypatch.setattr(node.worker, "poll", lambda now: (None, "policy error: boom"))
    node.take_policy_step()
    cmd, _ = node.command(lowstate(), age=0.0)
    assert node.mode == Mode.DAMPING and cmd.damping


class Wire:
    """Stands in for the LowCmd writer: keeps what was sent."""

    def __init__(self):
        self.sent = []

    def write(self, msg):
        self.sent.append(msg.copy())


def test_the_watchdog_damps_a_stalled_loop_from_outside(node_args, tmp_path):
    import time

    node = node_in(Mode.POLICY, node_args, tmp_path)
    node.writer = Wire()
    now = time.perf_counter()
    node.last_publish = now - 0.01
    assert not node.watch(now)  # a loop on time: nothing
    node.last_publish = now - 1.0  # a loop stuck for a second (in a write, a lock, a bug)
    assert node.watch(now) and node.mode == Mode.DAMPING
    assert node.writer.sent[-1]["motor_cmd"]["kp"][:29].max() == 0
    # The loop wakes up with a stiff command computed before: it goes out as damping.
    stiff = node._mode_command(g1.DEFAULT_POS, np.zeros(g1.NUM_JOINTS))
    node.mode = Mode.DAMPING
    node.publish(type(stiff)(q=stiff.q, kp=np.full(29, 50.0), kd=stiff.kd, dq=stiff.dq,
                             tau=stiff.tau), 5)  # fmt: skip
    assert node.writer.sent[-1]["motor_cmd"]["kp"][:29].max() == 0


def test_a_simulator_without_crc_is_an_opt_in(node_args, tmp_path):
    _, policy, clip = node_args
    msg = lowstate()
    msg["crc"] = 0
    for opt_in, taken in ((False, False), (True, True)):
        node = G1Node(Args(policy=policy, motion=clip, net="lo", log=tmp_path / "s.jsonl",
                           object_from_reference=True, simulator_without_crc=opt_in))  # fmt: skip
        node._on_state(msg)
        assert (node.state is not None) == taken and node.bad_crc == (not taken)
    msg["crc"] = 12345  # a wrong CRC stays wrong with the opt-in
    node._on_state(msg)
    assert node.bad_crc == 1


def test_keys_that_change_the_runner_wait_for_the_running_policy_step(node_args, tmp_path):
    """The inference thread reads the runner's clock, goals and last action: a jump key
    typed while a step runs is applied after it, not under it."""
    node = node_in(Mode.POLICY, node_args, tmp_path)
    frame = node.runner.frame
    node.worker._busy = True  # a step under way on the inference thread
    node.key("]")
    assert node.runner.frame == frame and node.runner_keys == ["]"]
    node.worker._busy = False
    node.apply_runner_keys()
    assert node.runner.frame > frame and not node.runner_keys
