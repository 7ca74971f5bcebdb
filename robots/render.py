"""Offscreen rendering of a clip (robot + object) to MP4 and a contact-sheet PNG.

Works on a CPU-only machine with MUJOCO_GL=egl (Mesa) or osmesa. Hands and feet are
drawn green on frames whose contact label is set.
"""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import mujoco
import numpy as np
from PIL import Image, ImageDraw

from common.atomic import atomic_path
from robots.clip import MotionClip
from robots.g1.mjcf import COLLISION_GROUP
from robots.scene import build_scene

CONTACT_RGBA = np.array([0.2, 0.85, 0.3, 1.0])
_CONTACT_GEOMS = {
    "left_hand": ("left_hand_collision",),
    "right_hand": ("right_hand_collision",),
    "left_foot": tuple(f"left_foot{i}_collision" for i in range(1, 8)),
    "right_foot": tuple(f"right_foot{i}_collision" for i in range(1, 8)),
}


class ClipRenderer:
    """Renders frames of one clip; reuse it for the video and the contact sheet."""

    def __init__(self, clip: MotionClip, width: int = 640, height: int = 480, mesh_dir=None):
        self.clip = clip
        self.model = build_scene([clip.object], actuators=False, mesh_dir=mesh_dir).compile()
        self.data = mujoco.MjData(self.model)
        try:
            self.renderer = mujoco.Renderer(self.model, height=height, width=width)
        except Exception as e:  # the GL backends raise assorted errors when unavailable
            raise RuntimeError(
                f"offscreen rendering is unavailable ({e}); on a headless machine install "
                "EGL or OSMesa (Debian: libegl1 libgl1-mesa-dri, or libosmesa6) and set "
                "MUJOCO_GL=egl or MUJOCO_GL=osmesa"
            ) from None
        self.option = mujoco.MjvOption()
        self.option.geomgroup[COLLISION_GROUP] = mesh_dir is None
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.distance, self.camera.azimuth, self.camera.elevation = 2.6, 140.0, -15.0
        self._contact_ids = {
            k: [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, n) for n in v]
            for k, v in _CONTACT_GEOMS.items()
        }
        self._base_rgba = self.model.geom_rgba.copy()
        self._qpos = clip.qpos()
        # The camera follows a smoothed root so the view does not shake with the gait.
        kernel = np.ones(15) / 15
        root = clip.root_pos
        pad = np.pad(root, ((7, 7), (0, 0)), mode="edge")
        self._lookat = np.stack([np.convolve(pad[:, k], kernel, "valid") for k in range(3)], 1)

    def frame(self, i: int) -> np.ndarray:
        self.data.qpos[:] = self._qpos[i]
        mujoco.mj_kinematics(self.model, self.data)
        self.model.geom_rgba[:] = self._base_rgba
        for name, ids in self._contact_ids.items():
            if self.clip.contact_of(name)[i]:
                self.model.geom_rgba[ids] = CONTACT_RGBA
        self.camera.lookat[:] = self._lookat[i] * (1, 1, 0) + (0, 0, 0.6)
        self.renderer.update_scene(self.data, self.camera, self.option)
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()


def video_frames(num_frames: int, clip_fps: float, fps: float | None = None) -> np.ndarray:
    """The clip frames a video at ``fps`` (default: the clip's rate, at most 30) shows."""
    fps = fps or min(clip_fps, 30.0)
    duration = (num_frames - 1) / clip_fps
    return np.round(np.arange(0, duration + 1e-9, 1.0 / fps) * clip_fps).astype(int)


def render_video(clip: MotionClip, out: str | Path, width=640, height=480, fps=None, mesh_dir=None,
                 progress=None):  # fmt: skip
    """Write an H.264 MP4 of the clip at ``fps`` (default: the clip's rate, at most 30);
    ``progress(1)`` is called per rendered frame."""
    idx = video_frames(clip.num_frames, clip.fps, fps)
    fps = fps or min(clip.fps, 30.0)
    r = ClipRenderer(clip, width, height, mesh_dir)
    try:
        with (
            atomic_path(out) as tmp,
            imageio.get_writer(tmp, fps=fps, codec="libx264", macro_block_size=8) as w,
        ):
            for i in idx:
                w.append_data(r.frame(int(i)))
                if progress is not None:
                    progress(1)
    finally:
        r.close()
    return Path(out)


def render_contact_sheet(
    clip: MotionClip, out: str | Path, frames=8, columns=4, width=480, height=360, mesh_dir=None
):
    """A PNG grid of ``frames`` evenly spaced frames, each labelled with its time."""
    idx = np.linspace(0, clip.num_frames - 1, frames).round().astype(int)
    r = ClipRenderer(clip, width, height, mesh_dir)
    try:
        tiles = []
        for i in idx:
            img = Image.fromarray(r.frame(int(i)))
            ImageDraw.Draw(img).text((8, 8), f"t = {i / clip.fps:.2f} s", fill=(255, 255, 255))
            tiles.append(np.asarray(img))
    finally:
        r.close()
    rows = -(-len(tiles) // columns)
    sheet = np.zeros((rows * height, columns * width, 3), dtype=np.uint8)
    for k, tile in enumerate(tiles):
        y, x = divmod(k, columns)
        sheet[y * height : (y + 1) * height, x * width : (x + 1) * width] = tile
    with atomic_path(out) as tmp:
        imageio.imwrite(tmp, sheet)
    return Path(out)
