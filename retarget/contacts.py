"""Foot-ground contact detection and stance segments."""

from __future__ import annotations

import numpy as np


def segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in a boolean sequence."""
    padded = np.r_[False, np.asarray(mask, bool), False]
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def clean(mask: np.ndarray, min_frames: int) -> np.ndarray:
    """Fill gaps shorter than ``min_frames`` inside contact, then drop shorter contacts."""
    out = np.asarray(mask, bool).copy()
    for a, b in segments(~out):
        if a > 0 and b < len(out) and b - a < min_frames:
            out[a:b] = True
    for a, b in segments(out):
        if b - a < min_frames:
            out[a:b] = False
    return out


def foot_contact(
    points: np.ndarray, fps: float, max_speed: float, max_height: float, min_frames: int
) -> np.ndarray:
    """Stance frames of one foot from (T, K, 3) foot points (e.g. ankle and toe): every
    point slower than ``max_speed`` (xy, m/s) and lower than the clip's lowest height of
    that point plus ``max_height``."""
    speed = np.linalg.norm(np.gradient(points[..., :2], axis=0), axis=-1) * fps
    low = points[..., 2] <= points[..., 2].min(axis=0) + max_height
    return clean(np.all((speed <= max_speed) & low, axis=-1), min_frames)


def blend_weights(mask: np.ndarray, frames: int) -> np.ndarray:
    """1 on contact frames, ramping linearly to 0 over ``frames`` frames on both sides."""
    mask = np.asarray(mask, bool)
    if frames <= 0 or not mask.any():
        return mask.astype(float)
    idx = np.flatnonzero(mask)
    dist = np.abs(np.arange(len(mask))[:, None] - idx[None, :]).min(axis=1)
    return np.clip(1.0 - dist / (frames + 1), 0.0, 1.0)
