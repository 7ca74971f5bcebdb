"""Command line for the G1 model, clips and rendering: ``python -m robots --help``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro
from rich.console import Console
from rich.table import Table

# Piped output (logs, CI) keeps whole table rows instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)


@dataclass
class Export:
    """Write the generated G1 model as MJCF or URDF."""

    out: Path
    """Output file (.xml for MJCF, .urdf for URDF)."""
    format: Literal["mjcf", "urdf"] = "mjcf"
    gains: Literal["tracking", "stand"] = "tracking"
    """PD gain profile of the MJCF position actuators (see README, 'PD gains')."""
    mesh_dir: Path | None = None
    """Unitree's official G1 mesh folder (*.STL) for visual meshes; none by default."""
    floor: bool = False
    """MJCF only: add a floor, lights and a sky (a scene ready for the viewer)."""

    def run(self) -> None:
        from common.atomic import write_text

        if self.format == "urdf":
            from robots.g1.urdf import g1_urdf

            text = g1_urdf(self.mesh_dir)
        else:
            from robots.g1.mjcf import g1_spec
            from robots.scene import build_scene

            spec = (
                build_scene(gains=self.gains, mesh_dir=self.mesh_dir)
                if self.floor
                else g1_spec(gains=self.gains, mesh_dir=self.mesh_dir)
            )
            spec.compile()  # fail here, not in the user's simulator
            text = spec.to_xml()
        write_text(self.out, text)
        console.print(f"wrote {self.format.upper()} to {self.out}")


@dataclass
class Render:
    """Render a clip to an MP4 (and optionally a contact-sheet PNG), offscreen."""

    clip: Annotated[Path, tyro.conf.Positional]
    """Motion clip (.npz, see README 'Motion clips')."""
    out: Path = Path("video.mp4")
    sheet: Path | None = None
    """Also write a contact sheet PNG here."""
    width: int = 640
    height: int = 480
    fps: float | None = None
    """Video frame rate; default: the clip's, at most 30."""
    mesh_dir: Path | None = None

    def run(self) -> None:
        from robots.clip import load_clip
        from robots.render import render_contact_sheet, render_video

        clip = load_clip(self.clip)
        render_video(clip, self.out, self.width, self.height, self.fps, self.mesh_dir)
        console.print(f"wrote {self.out} ({clip.num_frames} frames at {clip.fps:g} fps)")
        if self.sheet is not None:
            render_contact_sheet(clip, self.sheet, mesh_dir=self.mesh_dir)
            console.print(f"wrote {self.sheet}")


@dataclass
class Check:
    """Validate clip files; exit status 1 if any is invalid."""

    clips: Annotated[list[Path], tyro.conf.Positional]

    def run(self) -> None:
        from robots.clip import load_clip

        bad = 0
        for path in self.clips:
            try:
                c = load_clip(path)
                console.print(f"[green]ok[/] {path}: {c.num_frames} frames, {c.fps:g} fps, "
                              f"object {c.object.name}")  # fmt: skip
            except (ValueError, FileNotFoundError) as e:
                bad += 1
                console.print(f"[red]invalid[/] {e}")
        if bad:
            sys.exit(1)


@dataclass
class LeadIn:
    """Prepend the way from the default standing pose to a clip's first frame, so that a
    policy trained on it takes over from the robot node's hold."""

    clip: Annotated[Path, tyro.conf.Positional]
    out: Path
    seconds: float = 1.5

    def run(self) -> None:
        from robots.clip import load_clip

        clip = load_clip(self.clip).with_lead_in(self.seconds)
        console.print(f"wrote {clip.save(self.out)} ({clip.num_frames} frames)")


@dataclass
class Info:
    """Print the G1 joint table: motor order, limits, motors, PD gains."""

    def run(self) -> None:
        from robots import g1

        kp_t, kd_t = g1.gains("tracking")
        kp_s, kd_s = g1.gains("stand")
        table = Table(title="Unitree G1 29-DoF (motor order)")
        for col in ("#", "joint", "lower", "upper", "effort", "vel", "armature",
                    "kp/kd tracking", "kp/kd stand", "default"):  # fmt: skip
            table.add_column(col, justify="right" if col != "joint" else "left")
        for i, name in enumerate(g1.JOINT_NAMES):
            table.add_row(
                str(i), name, f"{g1.JOINT_LOWER[i]:.4f}", f"{g1.JOINT_UPPER[i]:.4f}",
                f"{g1.EFFORT_LIMIT[i]:g}", f"{g1.VELOCITY_LIMIT[i]:g}", f"{g1.ARMATURE[i]:.6f}",
                f"{kp_t[i]:.2f}/{kd_t[i]:.3f}", f"{kp_s[i]:.1f}/{kd_s[i]:.2f}",
                f"{g1.DEFAULT_POS[i]:.3f}",
            )  # fmt: skip
        console.print(table)


@dataclass
class Demo:
    """The embedded default job: export the G1, write the demo clip, render it."""

    out: Path = Path("demo_out")
    """Output folder."""

    def run(self) -> None:
        from robots.demo import demo_clip
        from robots.render import render_contact_sheet, render_video

        self.out.mkdir(parents=True, exist_ok=True)
        Export(self.out / "g1.xml", floor=True).run()
        Export(self.out / "g1.urdf", format="urdf").run()
        clip = demo_clip()
        clip_path = clip.save(self.out / "demo_clip.npz")
        console.print(f"wrote {clip_path} ({clip.num_frames} frames)")
        render_video(clip, self.out / "demo.mp4")
        render_contact_sheet(clip, self.out / "demo_sheet.png")
        console.print(f"wrote {self.out / 'demo.mp4'} and {self.out / 'demo_sheet.png'}")


def main() -> None:
    cmd = tyro.extras.subcommand_cli_from_dict(
        {
            "export": Export,
            "render": Render,
            "check": Check,
            "lead-in": LeadIn,
            "info": Info,
            "demo": Demo,
        },
        prog="python -m robots",
        description=__doc__,
    )
    try:
        cmd.run()
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        console.print(f"[red]error:[/] {e}")
        sys.exit(2)


if __name__ == "__main__":
    main()
