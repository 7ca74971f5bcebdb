"""Reference motions for the environment: clips resampled to the control rate, with the
quantities the observation and reward terms compare against, stored flat for fast
batched lookup by (clip, frame)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
from array_api_compat import device

from common.array_namespace import like, namespace
from contract.state import KEY_BODIES, HoiState
from robots import g1, quat
from robots.clip import MotionClip

ONLY_CLIP = np.zeros(1, int)  # the clip index of a single-clip ReferenceMotions


class ReferenceMotions:
    def __init__(self, clips: Sequence[MotionClip], fps: float):
        if not clips:
            raise ValueError("need at least one reference clip")
        objects = {c.object.to_json() for c in clips}
        if len(objects) > 1:
            raise ValueError("all reference clips of one environment must use the same object")
        self.object = clips[0].object
        self.fps = fps
        self.lengths = np.array([0] * len(clips))
        parts: list[dict[str, np.ndarray]] = []
        keys = [g1.BODY_NAMES.index(n) for n in KEY_BODIES]
        for i, clip in enumerate(clips):
            c = clip.resample(fps)
            if c.num_frames < 2:
                raise ValueError(f"clip {i} is shorter than two control steps")
            self.lengths[i] = c.num_frames
            body_pos = c.body_pos()[:, keys]
            root_ang_world = c.root_ang_vel()
            parts.append(
                dict(
                    root_pos=c.root_pos,
                    root_quat=c.root_quat,
                    root_lin_vel=c.root_lin_vel(),
                    root_ang_vel=quat.rotate(quat.conjugate(c.root_quat), root_ang_world),
                    joint_pos=c.joint_pos,
                    joint_vel=c.joint_vel(),
                    body_pos=body_pos,
                    body_quat=c.body_quat()[:, keys],
                    body_lin_vel=np.gradient(body_pos, 1.0 / fps, axis=0),
                    object_pos=c.object_pos,
                    object_quat=c.object_quat,
                    object_lin_vel=c.object_lin_vel(),
                    object_ang_vel=c.object_ang_vel(),
                    contact=c.contact.astype(np.float64),
                )
            )
        self.starts = np.r_[0, np.cumsum(self.lengths)[:-1]]
        self.data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def like(self, ref) -> ReferenceMotions:
        """These motions with their arrays in ``ref``'s namespace, float dtype and device
        (a torch tensor: lookups stay on its device)."""
        if namespace(ref) is np:
            return self
        out = copy.copy(self)
        out.data = {k: like(v, ref) for k, v in self.data.items()}
        xp, dev = namespace(ref), device(ref)
        out.lengths, out.starts = (xp.asarray(a, device=dev) for a in (self.lengths, self.starts))
        return out

    @property
    def num_clips(self) -> int:
        return len(self.lengths)

    def index(self, clip: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """Flat row of (clip, frame); frames past the clip's end hold its last frame."""
        xp = namespace(frame)
        return self.starts[clip] + xp.minimum(xp.clip(frame, min=0), self.lengths[clip] - 1)

    def future(
        self, clip: np.ndarray, frame: np.ndarray, offsets
    ) -> list[tuple[HoiState, np.ndarray]]:
        """Reference (state, contacts) at ``frame + k`` for every offset k."""
        xp = namespace(frame)
        states, contacts = self.state(clip, xp.stack([frame + k for k in offsets]))
        fields = {k: xp.unstack(v) for k, v in vars(states).items()}  # views per offset
        return [(HoiState(**{k: v[i] for k, v in fields.items()}), contacts[i])
                for i in range(len(offsets))]  # fmt: skip

    def state(self, clip: np.ndarray, frame: np.ndarray) -> tuple[HoiState, np.ndarray]:
        """Reference state (N, ...) and contact labels (N, 5) at (clip, frame); (K, N, ...)
        and (K, N, 5) for K frames (K, N) of each simulation, with one lookup per field."""
        rows = self.index(clip, frame)
        d = {k: v[rows] for k, v in self.data.items()}
        contact = d.pop("contact")
        return HoiState(**d), contact
