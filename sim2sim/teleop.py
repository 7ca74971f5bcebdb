"""Keyboard teleoperation in the sim2sim viewer. The Stage 1 expert takes no goals, so
the keys control the playback of its reference; the same keys drive goals once the
policy accepts them (Stage 2)."""

from __future__ import annotations

import os
import queue
import sys
import time

import mujoco

from contract import playback
from robots.g1.mjcf import COLLISION_GROUP

KEYS_HELP = """keys (sim2sim viewer):
  space        pause / resume
  + / -        reference playback faster / slower (x0.25 steps, 0 to 2)
  right / left jump the reference 1 s forward / back (also ] / [)
  r            reset to the clip's first frame
  e            emergency stop: policy off, joints damped (r resets)
Stage 2/3 policies:
  1 ... 9      snapshot goal: the clip's pose at 10 ... 90 % of its length, in 1 s
               (switches at once; in chain mode queued after the current goal)
  c            chain mode on / off
  g            next goal pattern (full, snapshot, trajectory, contact, ...)
"""

GLFW = {"space": 32, "plus": 61, "kp_plus": 334, "minus": 45, "kp_minus": 333,
        "right": 262, "left": 263, "]": 93, "[": 91, "r": 82, "e": 69, "g": 71, "c": 67,
        **{str(d): 48 + d for d in range(1, 10)}}  # fmt: skip


class PinnedView:
    """The viewer's display options and camera mode as set at the start, put back after
    every key. MuJoCo's viewer binds nearly every key to a display toggle of its own
    (the digits to geom groups, letters to visual flags, ``[``/``]`` to cameras) and
    cannot be told not to (mujoco 4.0); with the view pinned, a project key changes only
    what it means here (e.g. ``3`` a goal, no longer hiding the robot's geom group)."""

    def __init__(self, opt: mujoco.MjvOption, cam: mujoco.MjvCamera):
        self.groups = (opt.geomgroup.copy(), opt.sitegroup.copy(), opt.flags.copy())
        self.modes = (opt.frame, opt.label, cam.type, cam.trackbodyid)

    def restore(self, opt: mujoco.MjvOption, cam: mujoco.MjvCamera) -> None:
        opt.geomgroup[:], opt.sitegroup[:], opt.flags[:] = self.groups
        opt.frame, opt.label, cam.type, cam.trackbodyid = self.modes


class Teleop:
    def __init__(self, sim):
        self.sim = sim
        self.paused = False
        self.speed = 1.0
        self.estop = False
        self.chaining = False

    def key(self, code: int) -> None:
        """Apply one key press (GLFW key codes, as MuJoCo's viewer reports them)."""
        hz, length = self.sim.policy.control_hz, int(self.sim.refs.lengths[0])
        if code == GLFW["space"]:
            self.paused = not self.paused
        elif code in (GLFW["plus"], GLFW["kp_plus"]):
            self.speed = playback.faster(self.speed)
        elif code in (GLFW["minus"], GLFW["kp_minus"]):
            self.speed = playback.slower(self.speed)
        elif code in (GLFW["right"], GLFW["]"]):
            self.sim.frame = playback.jumped(self.sim.frame, 1, hz, length)
        elif code in (GLFW["left"], GLFW["["]):
            self.sim.frame = playback.jumped(self.sim.frame, -1, hz, length)
        elif code == GLFW["r"]:
            self.estop = False
            self.sim.reset(0)
        elif code == GLFW["e"]:
            self.estop = True
        elif code == GLFW["c"]:
            self.chaining = not self.chaining
        elif GLFW["1"] <= code <= GLFW["9"] or code == GLFW["g"]:
            self.sim.runner.goal_key(chr(code).lower(), self.chaining)

    def tick(self) -> None:
        """One control period of the viewer loop."""
        if self.paused:
            return
        if self.estop:  # damping only: zero stiffness, hold the damping term
            d = self.sim.data
            d.ctrl[:] = d.qpos[self.sim.index.joint_q]
            for _ in range(self.sim.decimation):
                self.sim.motors.step(d)
            return
        self.sim.step(self.speed)
        if self.sim.frame >= self.sim.refs.lengths[0] - 1:
            self.sim.frame = float(self.sim.refs.lengths[0] - 1)

    def status(self) -> tuple[str, str]:
        """The overlay's two columns: what the keys have set."""
        runner = self.sim.runner
        mode = "E-STOP (r resets)" if self.estop else "paused" if self.paused else "running"
        left = ["mode", "speed", "time"]
        right = [mode, f"x{self.speed:g}", f"{self.sim.frame / self.sim.policy.control_hz:.1f} s"]
        if runner.goals is not None:
            g = runner.goals
            left += ["goals", "chain"]
            right += [f"{g.pattern}" + (" (pinned)" if g.pinned else ""),
                      "on" if self.chaining else "off"]  # fmt: skip
        return "\n".join(left), "\n".join(right)

    def run_viewer(self) -> None:
        if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):  # MuJoCo's GLFW error would end the process before any message of ours
            raise SystemExit("no display for the viewer (DISPLAY is not set); use --render "
                             "for an MP4")  # fmt: skip
        import mujoco.viewer

        self.sim.reset(0)
        period = 1.0 / self.sim.policy.control_hz
        keys: queue.SimpleQueue[int] = queue.SimpleQueue()
        try:  # keys arrive on the viewer's thread: they are applied on this one
            viewer = mujoco.viewer.launch_passive(self.sim.model, self.sim.data,
                                                  key_callback=keys.put, show_left_ui=False,
                                                  show_right_ui=False)  # fmt: skip
        except Exception as e:  # no GLFW
            raise SystemExit(f"cannot open the viewer ({e}); use --render for an MP4") from None
        with viewer:
            viewer.opt.geomgroup[COLLISION_GROUP] = 1  # the robot: its collision shapes
            viewer.cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            viewer.cam.trackbodyid = self.sim.model.body("pelvis").id
            viewer.cam.distance, viewer.cam.elevation, viewer.cam.azimuth = 3.0, -20.0, 135.0
            pinned = PinnedView(viewer.opt, viewer.cam)
            while viewer.is_running():
                start = time.perf_counter()
                with viewer.lock():
                    while not keys.empty():
                        self.key(keys.get())
                    pinned.restore(viewer.opt, viewer.cam)
                    self.tick()
                viewer.set_texts((None, mujoco.mjtGridPos.mjGRID_TOPLEFT, *self.status()))
                viewer.sync()
                time.sleep(max(0.0, period - (time.perf_counter() - start)))
