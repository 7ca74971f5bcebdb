"""A dataset retargeted in one command: inputs collected from files and folders, clips
already done skipped, objects' convex decompositions computed once up front, clips
retargeted in worker processes under one progress bar over all frames, and
``summary.json`` with the quality table.

The workers live in this module rather than in ``__main__``: spawned processes find
their function by module name.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
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
    inputs: Annotated[
        tuple[str, ...],
        tyro.conf.Positional,
        tyro.conf.arg(metavar="[INPUT ...]", help_behavior_hint=""),
    ] = ()
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
    objects_root: Annotated[Path | None, tyro.conf.arg(metavar="PATH", help_behavior_hint="")] = (
        None
    )
    """Object folder for InterAct files (default: $G1HOI_OMOMO_OBJECTS, else ../shared)."""
    fps: Annotated[float | None, tyro.conf.arg(metavar="FLOAT", help_behavior_hint="")] = None
    """Resample the input to this frame rate first (default: keep the input's)."""
    overwrite: bool = False
    """Retarget clips whose outputs exist (default: skip them, so a stopped run resumes)."""


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


def _name(item: str) -> str:
    """The output name of an input: the built-in clip's name or the file's stem."""
    return item if item in (SYNTHETIC, SYNTHETIC_LIFT) else Path(item).stem


def load(item: str, args: Args):
    """(name, motion) of one input, resampled as asked."""
    from retarget.readers import read_motion
    from retarget.synthetic import LIFT_IN_PLACE, synthetic_motion

    if item == SYNTHETIC:
        motion = synthetic_motion()
    elif item == SYNTHETIC_LIFT:
        motion = synthetic_motion(LIFT_IN_PLACE)
    else:
        motion = read_motion(item, args.objects_root)
    return _name(item), motion.resample(args.fps) if args.fps else motion


def process(item: str, args: Args, progress=None) -> tuple[str, dict]:
    """Retarget one input and write its outputs (the metrics file last: it marks the
    clip done); returns (name, metrics)."""
    from common.atomic import write_text
    from retarget.config import load_config
    from retarget.pipeline import retarget

    name, motion = load(item, args)
    result = retarget(motion, load_config(args.config), progress=progress)
    result.clip.save(args.out / f"{name}.npz")
    if args.render:
        from robots.render import render_video

        render_video(result.clip, args.out / f"{name}.mp4", progress=progress)
    write_text(args.out / f"{name}.json", json.dumps(result.metrics, indent=2) + "\n")
    return name, result.metrics


class _Frames:
    """Counts solved frames in a worker and passes them on in batches."""

    def __init__(self, queue, every: int = 16):
        self.queue, self.every, self.count = queue, every, 0

    def __call__(self, n: int) -> None:
        self.count += n
        if self.count >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.count:
            self.queue.put(self.count)
            self.count = 0


def _run(item: str, args: Args, queue):
    frames = _Frames(queue)
    try:
        return item, process(item, args, frames), None
    except Exception as e:  # one bad clip must not abort the batch
        return item, None, f"{type(e).__name__}: {e}"
    finally:
        frames.flush()


def _scan(items: list[str], args: Args, done: dict[str, dict], failures: dict[str, str]):
    """Reads the inputs still to do: their frame counts, and their objects' convex
    decompositions computed once up front (cached on disk for the workers)."""
    from robots.objects import convex_parts

    todo, frames, objects = [], {}, {}
    for item in tqdm(items, desc="scan", unit="clip", disable=len(items) < 2):
        name = _name(item)
        if not args.overwrite and (args.out / f"{name}.json").is_file():
            try:
                done[name] = json.loads((args.out / f"{name}.json").read_text())
                continue
            except ValueError:
                pass  # unreadable metrics: do the clip again
        try:
            _, motion = load(item, args)
        except Exception as e:
            failures[item] = f"{type(e).__name__}: {e}"
            tqdm.write(f"FAILED {item}: {failures[item]}")
            continue
        todo.append(item)
        frames[item] = motion.num_frames  # the bar counts solved and rendered frames
        if args.render:
            from robots.render import video_frames

            frames[item] += len(video_frames(motion.num_frames, motion.fps))
        if motion.object.shape in ("mesh", "points"):  # primitives need no hull
            objects[motion.object.to_json()] = motion.object
    for obj in tqdm(list(objects.values()), desc="objects", unit="object", disable=not objects):
        convex_parts(obj)
    return todo, frames


def _quality_table(results: dict[str, dict]) -> dict[str, float]:
    """Over all clips: counts summed, speed as total frames over total seconds, ``max``
    metrics as their maximum, the others (fractions, means, medians) weighted by frames."""
    frames = np.array([m["frames"] for m in results.values()], float)
    table: dict[str, float] = {"clips": len(results)}
    for key in next(iter(results.values())):
        values = np.array([m[key] for m in results.values()], float)
        if key == "scale":
            continue
        if key.endswith("_frames") or key in ("frames", "joint_limit_violations", "ik_seconds"):
            table[key] = float(values.sum())
        elif key == "ik_frames_per_s":
            table[key] = float(frames.sum() / sum(m["ik_seconds"] for m in results.values()))
        elif "_max" in key or key.startswith("max_"):
            table[key] = float(values.max())
        else:
            table[key] = float(values @ frames / frames.sum())
    return table


def run(args: Args) -> None:
    """Retarget every input of ``args`` into ``args.out`` (exits 2 on bad inputs, 1 when
    a clip failed)."""
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
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    todo, frames = _scan(items, args, results, failures)
    if results:
        console.print(f"{len(results)} clips already done in {args.out} (--overwrite redoes them)")
    # Workers are spawned, not forked: the scan above has started torch's and CoACD's
    # thread pools, and a forked child that touches them again deadlocks.
    context = multiprocessing.get_context("spawn")
    with (
        context.Manager() as manager,
        ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=context) as pool,
        tqdm(total=sum(frames.values()), desc="retarget", unit="frame") as bar,
    ):
        queue = manager.Queue()
        pending = {pool.submit(_run, item, args, queue) for item in todo}
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            while not queue.empty():
                bar.update(queue.get())
            for fut in finished:
                item, ok, err = fut.result()
                if err:
                    failures[item] = err
                    tqdm.write(f"FAILED {item}: {err}")
                else:
                    results[ok[0]] = ok[1]
    from common.atomic import write_text
    from retarget.metrics import TARGETS, misses

    missed = {name: misses(m) for name, m in sorted(results.items()) if misses(m)}
    if results:
        table = Table(title=f"retargeted {len(results)} of {len(items)} clips")
        cols = ("frames", "hand_object_distance_mean_cm", "object_penetration_frames_frac",
                "self_penetration_max_cm", "stance_foot_height_median_cm",
                "max_joint_velocity_rad_s", "ik_frames_per_s")  # fmt: skip
        table.add_column("clip")
        for c in cols:
            table.add_column(c.replace("_", " "), justify="right")
        for name in sorted(results):
            table.add_row(name, *(f"{results[name][c]:.3g}" for c in cols))
        console.print(table)
    summary = {
        "quality": _quality_table(results) if results else {},
        "targets": TARGETS,
        "missed_targets": missed,
        "failed": failures,
        "clips": dict(sorted(results.items())),
    }
    write_text(args.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    if missed:
        console.print(f"{len(missed)} clips miss a quality target: " + ", ".join(
            f"{n} ({', '.join(k)})" for n, k in missed.items()))  # fmt: skip
    if failures:
        console.print(f"[red]{len(failures)} failed[/]: " + ", ".join(failures))
        sys.exit(1)
