"""Retargeting speed, frames per second on one core, against a plain pink baseline.

Both variants run the same pipeline (targets, non-penetration passes, limits) in the
same process on the same clips; only the IK solver differs:
- ours: all frame targets in one stacked task (``retarget.ik.StackedFrameTask``, its rows
  in one compiled loop), the QP assembled and solved by DAQP directly (``retarget.ik.G1Ik``);
- plain: ``pink.solve_ik`` with one ``pink.tasks.FrameTask`` per target, as a first pink
  implementation would (axis-alignment targets become full-orientation targets, contact
  points track the body origin).
Clips: the shared OMOMO clips when ``../shared`` is present, else the synthetic clip.
Timing covers the whole per-clip pipeline (``ik_seconds``: targets, IK, non-penetration,
post-processing), not file reading or metrics. Beside it, the quality over the clips:
keypoint error, hand-object distance, frames with object penetration, the deepest
self-penetration, the median and maximum stance foot height.

    python benchmarks/retarget_speed.py [--clips DIR] [--limit N]
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pink
import pinocchio as pin
import tyro
from pink.tasks import FrameTask

from retarget.ik import FrameTarget, G1Ik, aligned_rotation
from retarget.pipeline import retarget
from retarget.readers import read_motion
from retarget.synthetic import synthetic_motion

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "interact_omomo"


class PlainPinkIk(G1Ik):
    """One pink FrameTask per target frame."""

    def __init__(self, damping: float, posture_weight: float, velocity_weight: float):
        super().__init__(damping, posture_weight, velocity_weight)
        self.frame_tasks: dict[str, FrameTask] = {}

    def solve(self, targets: dict[str, FrameTarget], iterations, orientation_iterations, dt):
        for it in range(iterations):
            tasks = [self.posture, self.smoothness]
            for name, t in targets.items():
                task = self.frame_tasks.setdefault(name, FrameTask(name, 1.0, 0.0))
                pos_w = 0.0 if it < orientation_iterations else t.position_weight
                rot = t.rotation
                if t.align is not None:
                    current = self.configuration.get_transform_frame_to_world(name).rotation
                    rot = aligned_rotation(current, *t.align)
                ori_w = t.orientation_weight if rot is not None else 0.0
                if pos_w <= 0 and ori_w <= 0:
                    continue
                task.set_position_cost(np.sqrt(pos_w))
                task.set_orientation_cost(np.sqrt(ori_w))
                task.set_target(pin.SE3(rot if rot is not None else np.eye(3), t.position))
                tasks.append(task)
            v = pink.solve_ik(
                self.configuration, tasks, dt, solver=self.solver, damping=self.damping,
                limits=self.limits, safety_break=False,
            )  # fmt: skip
            self.configuration.integrate_inplace(v, dt)
        return self.configuration.q.copy()


@dataclass
class Args:
    clips: Path = SHARED / "motions"
    limit: int = 0
    """Use only the first N clips (0: all)."""


def main() -> None:
    args = tyro.cli(Args, prog="python benchmarks/retarget_speed.py", description=__doc__)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.clips.is_dir():
        paths = sorted(args.clips.glob("*.pt"))[: args.limit or None]
        motions = [(p.stem, read_motion(p, args.clips.parent / "objects")) for p in paths]
    else:
        print(f"{args.clips} not found: using the synthetic clip", file=sys.stderr)
        motions = [("synthetic", synthetic_motion())]
    rows = {}
    for label, ik_class in (("ours (stacked task)", G1Ik), ("plain pink FrameTasks", PlainPinkIk)):
        frames = seconds = 0.0
        quality = []
        for _, motion in motions:
            retarget(motion, ik_class=ik_class)  # warm-up: imports, decompositions, caches
            break
        for _, motion in motions:
            m = retarget(motion, ik_class=ik_class).metrics
            frames += m["frames"]
            seconds += m["ik_seconds"]
            quality.append(m)
        rows[label] = dict(
            fps=frames / seconds,
            frames=int(frames),
            kp=np.mean([q["keypoint_error_mean_cm"] for q in quality]),
            hand=np.mean([q["hand_object_distance_mean_cm"] for q in quality]),
            pen=sum(q["object_penetration_frames_frac"] * q["frames"] for q in quality) / frames,
            self=max(q["self_penetration_max_cm"] for q in quality),
            stance=np.median([q["stance_foot_height_median_cm"] for q in quality]),
            stance_max=max(q["stance_foot_height_max_cm"] for q in quality),
        )
    print(f"{len(motions)} clips, {int(rows[next(iter(rows))]['frames'])} frames, 1 process")
    header = ("frames/s", "keypoint cm", "hand-obj cm", "obj. pen.", "self max cm",
              "stance cm", "stance max")  # fmt: skip
    keys = ("fps", "kp", "hand", "pen", "self", "stance", "stance_max")
    print(f"{'solver':24s} " + " ".join(f"{h:>12s}" for h in header))
    for label, r in rows.items():
        print(f"{label:24s} " + " ".join(f"{r[k]:12.3g}" for k in keys))
    base = rows["plain pink FrameTasks"]["fps"]
    print(f"speed-up over plain pink: {rows['ours (stacked task)']['fps'] / base:.2f}x")


if __name__ == "__main__":
    main()
