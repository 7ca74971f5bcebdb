"""Keyboard teleoperation in the sim2sim viewer. The Stage 1 expert takes no goals, so
the keys control the playback of its reference; the same keys drive goals once the
policy accepts them (Stage 2)."""

from __future__ import annotations

import time

import mujoco

from contract import playback

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
            m, d = self.sim.model, self.sim.data
            d.ctrl[:] = d.qpos[self.sim.index.joint_q]
            for _ in range(self.sim.decimation):
                mujoco.mj_step(m, d)
            return
        self.sim.step(self.speed)
        if self.sim.frame >= self.sim.refs.lengths[0] - 1:
            self.sim.frame = float(self.sim.refs.lengths[0] - 1)

    def run_viewer(self) -> None:
        import mujoco.viewer

        self.sim.reset(0)
        period = 1.0 / self.sim.policy.control_hz
        try:
            viewer = mujoco.viewer.launch_passive(
                self.sim.model, self.sim.data, key_callback=self.key
            )
        except Exception as e:  # no display, no GLFW
            raise SystemExit(f"cannot open the viewer ({e}); use --render for an MP4") from None
        with viewer:
            while viewer.is_running():
                start = time.perf_counter()
                self.tick()
                viewer.sync()
                time.sleep(max(0.0, period - (time.perf_counter() - start)))
