"""Readers of human+object motion files into :class:`retarget.motion.HumanMotion`."""

from __future__ import annotations

from pathlib import Path

from retarget.motion import HumanMotion, MotionError

SUFFIXES = (".pt", ".npz")


def read_motion(path: str | Path, objects_root: str | Path | None = None) -> HumanMotion:
    """Read any supported file: InterAct ``.pt``; ``.npz`` in the generic layout or a raw
    OMOMO sequence (told apart by their keys)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"motion file not found: {path}")
    if path.suffix == ".pt":
        from retarget.readers.interact import read_interact

        return read_interact(path, objects_root)
    if path.suffix == ".npz":
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as data:
                keys = set(data.files)
        except Exception as e:  # numpy raises several types for damaged archives
            raise MotionError(f"{path}: not a readable .npz ({e})") from None
        if "rest_offsets" in keys:
            from retarget.readers.omomo import read_omomo

            return read_omomo(path, objects_root)
        from retarget.readers.generic import read_generic

        return read_generic(path)
    raise MotionError(f"{path}: unsupported motion file type {path.suffix!r}; use {SUFFIXES}")
