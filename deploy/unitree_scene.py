"""A scene for Unitree's own simulator (``unitree_mujoco``) with a clip's object.

Unitree's G1 scene holds the robot alone, standing at the origin facing +x. This writes
an MJCF beside it (``unitree_robots/g1/``, where its include and meshes resolve) that
adds the clip's object where the clip has it relative to the robot's first pose, so that
the node's policy, which sees the object relative to the pelvis, meets the object where
its reference does. docs/deployment.md says how to run the node against that simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np
import tyro

from common.atomic import atomic_path
from contract.observations import heading_quat
from robots import quat
from robots.clip import load_clip
from robots.objects import add_object

ROBOT_SCENE = "scene_29dof.xml"  # Unitree's G1 29-DoF scene, in unitree_robots/g1/


def relative_pose(clip) -> tuple[np.ndarray, np.ndarray]:
    """The object's first pose in the frame of the robot's first place and heading
    (the frame Unitree's simulator stands the robot in)."""
    turn = quat.conjugate(heading_quat(clip.root_quat[:1])[0])  # world -> heading frame
    x, y, _ = clip.start_place()
    pos = quat.rotate(turn, clip.object_pos[0] - np.array([x, y, 0.0]))
    pos[2] = clip.object_pos[0][2]
    return pos, quat.multiply(turn, clip.object_quat[0])


def scene_xml(clip, g1_dir: Path) -> str:
    """Unitree's G1 scene with the clip's object added, as one MJCF to save in ``g1_dir``
    (its meshes are named relative to it)."""
    spec = mujoco.MjSpec.from_file(str(g1_dir / ROBOT_SCENE))
    pos, q = relative_pose(clip)
    add_object(spec, clip.object, tuple(pos), tuple(q))
    return spec.to_xml()


@dataclass(frozen=True)
class Args:
    motion: Path
    """The policy's clip (its object and where the clip puts it)."""
    g1_dir: Path
    """unitree_mujoco's unitree_robots/g1 folder (the scene is written there)."""
    name: str = "scene_29dof_object.xml"


def main() -> None:
    args = tyro.cli(Args, description=__doc__.split("\n\n")[0])
    if not (args.g1_dir / ROBOT_SCENE).is_file():
        raise SystemExit(f"error: no {ROBOT_SCENE} in {args.g1_dir} (unitree_robots/g1)")
    try:
        xml = scene_xml(load_clip(args.motion), args.g1_dir)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    out = args.g1_dir / args.name
    with atomic_path(out) as tmp:
        tmp.write_text(xml)
    print(f"wrote {out}: set ROBOT_SCENE to it in simulate_python/config.py")


if __name__ == "__main__":
    main()
