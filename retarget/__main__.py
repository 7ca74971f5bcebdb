"""Retarget human+object motion files to G1 motion clips: ``python -m retarget --help``.

Writes, per input, ``<name>.npz`` (the clip, see README "Motion clips"), ``<name>.json``
(quality metrics) and, with ``--render``, ``<name>.mp4``. A failing input is reported
and skipped; the exit status is 1 if any failed.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from retarget.config import DEFAULT_CONFIG
from retarget.readers import SUFFIXES

console = Console(width=None if sys.stdout.isatty() else 160)
SYNTHETIC = "synthetic"
SYNTHETIC_LIFT = "synthetic_lift"


@dataclass
class Args:
    inputs: Annotated[tuple[str, ...], tyro.conf.Positional] = ()
    """Motion files (InterAct .pt, generic or OMOMO .npz) or folders of them."""
    out: Path = Path("retargeted")
    """Output folder."""
    synthetic: bool = False
    """Also retarget the built-in synthetic clip (walk, lift a box, carry, put down)."""
    synthetic_lift: bool = False
    """Also retarget the built-in lift-in-place clip (lift the box, put it back; no steps)."""
    jobs: int = 1
    """Clips processed in parallel (processes)."""
    render: bool = False
    """Write an MP4 per clip."""
    config: Path = DEFAULT_CONFIG
    """Retargeting configuration (TOML)."""
    objects_root: Path | None = None
    """Object folder for InterAct files (default: $G1HOI_OMOMO_OBJECTS, else ../shared)."""
    fps: float | None = None
    """Resample the input to this frame rate first (default: keep the input's)."""


def collect(inputs: list[str]) -> list[str]:
    files: list[str] = []
    for item in inputs:
        p = Path(item)
        if item in (SYNTHETIC, SYNTHETIC_LIFT):
            files.append(item)
        elif p.is_dir():
            found = sorted(str(f) for f in p.iterdir() if f.suffix in SUFFIXES)
            if not found:
                raise FileNotFoundError(f"no {'/'.join(SUFFIXES)} motion files in {p}")
            files += found
        else:
            files.append(item)  # missing files are reported per clip
    return files


def process(item: str, args: Args) -> tuple[str, dict]:
    """Retarget one input and write its outputs; returns (name, metrics)."""
    from retarget.config import load_config
    from retarget.pipeline import retarget
    from retarget.readers import read_motion
    from retarget.synthetic import LIFT_IN_PLACE, synthetic_motion
    from robots.atomic import write_text

    if item == SYNTHETIC:
        name, motion = SYNTHETIC, synthetic_motion()
    elif item == SYNTHETIC_LIFT:
        name, motion = SYNTHETIC_LIFT, synthetic_motion(LIFT_IN_PLACE)
    else:
        name, motion = Path(item).stem, read_motion(item, args.objects_root)
    if args.fps:
        motion = motion.resample(args.fps)
    result = retarget(motion, load_config(args.config))
    result.clip.save(args.out / f"{name}.npz")
    write_text(args.out / f"{name}.json", json.dumps(result.metrics, indent=2) + "\n")
    if args.render:
        from robots.render import render_video

        render_video(result.clip, args.out / f"{name}.mp4")
    return name, result.metrics


def _run(item: str, args: Args):
    try:
        return item, process(item, args), None
    except Exception as e:  # one bad clip must not abort the batch
        return item, None, f"{type(e).__name__}: {e}"


def main() -> None:
    args = tyro.cli(Args, prog="python -m retarget", description=__doc__)
    try:
        items = collect(list(args.inputs)) + ([SYNTHETIC] if args.synthetic else [])
        items += [SYNTHETIC_LIFT] if args.synthetic_lift else []
    except FileNotFoundError as e:
        console.print(f"[red]error:[/] {e}")
        sys.exit(2)
    if not items:
        console.print("[red]error:[/] no inputs (give files/folders or --synthetic[-lift])")
        sys.exit(2)
    args.out.mkdir(parents=True, exist_ok=True)
    results, failures = {}, {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(_run, item, args) for item in items]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="retarget", unit="clip"):
            item, ok, err = fut.result()
            if err:
                failures[item] = err
                tqdm.write(f"FAILED {item}: {err}")
            else:
                results[ok[0]] = ok[1]
    table = Table(title=f"retargeted {len(results)} of {len(items)} clips")
    cols = ("frames", "hand_object_distance_mean_cm", "object_penetration_frames_frac",
            "foot_sliding_frac", "ground_penetration_max_cm", "joint_limit_violations",
            "ik_frames_per_s")  # fmt: skip
    table.add_column("clip")
    for c in cols:
        table.add_column(c.replace("_", " "), justify="right")
    for name in sorted(results):
        table.add_row(name, *(f"{results[name][c]:.3g}" for c in cols))
    console.print(table)
    from robots.atomic import write_text

    summary = {"clips": results, "failed": failures}
    write_text(args.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    if failures:
        console.print(f"[red]{len(failures)} failed[/]: " + ", ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
