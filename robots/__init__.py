"""The G1 robot model, HOI scenes, objects and the motion-clip format."""

import os
import sys

# Offscreen rendering needs a GL backend chosen before mujoco is first imported; on a
# headless Linux machine EGL (Mesa's software renderer when there is no GPU) works.
if (
    sys.platform.startswith("linux")
    and "MUJOCO_GL" not in os.environ
    and not os.environ.get("DISPLAY")
):
    os.environ["MUJOCO_GL"] = "egl"
