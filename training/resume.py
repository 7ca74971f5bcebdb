"""Resuming a run folder: the settings a run cannot change midway must match the saved
ones, and a refusal says which differ and what to do."""

from __future__ import annotations

from pathlib import Path


def differences(saved, now, prefix: str = "") -> list[str]:
    """``field: saved -> now`` for every leaf that differs (nested dicts by dotted path).
    Settings the saved run does not have were added to the project after it was saved:
    they are not compared, so a run stays resumable across such additions."""
    if isinstance(saved, dict) and isinstance(now, dict):
        out = []
        for key in sorted(saved):
            out += differences(saved[key], now.get(key), f"{prefix}{key}.")
        return out
    return [] if saved == now else [f"{prefix.rstrip('.')}: {saved!r} -> {now!r}"]


def check_resumable(run_dir: Path, what: str, saved: dict, now: dict) -> None:
    """Refuse to resume ``run_dir`` when ``now`` differs from its ``saved`` settings."""
    diffs = differences(saved, now)
    if diffs:
        raise ValueError(
            f"{run_dir} holds a run with another {what} ({'; '.join(diffs)}): resume it "
            "with its own settings, or start a new run with another --out"
        )
