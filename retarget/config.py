"""Retargeting configuration: the human->G1 correspondences and solver settings, read
from a TOML file (default ``retarget/g1.toml``, shipped inside the package)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from robots import g1

DEFAULT_CONFIG = Path(__file__).resolve().parent / "g1.toml"
# Frames the IK may target: G1 bodies and the sites exported as URDF links.
ROBOT_FRAMES = set(g1.BODY_NAMES) | {s.name for link in g1.LINKS for s in link.sites}


@dataclass(frozen=True)
class Target:
    human: str
    robot: str
    position: float = 0.0
    orientation: float = 0.0


@dataclass(frozen=True)
class IkSettings:
    first_frame_iterations: int
    iterations: int
    orientation_iterations: int
    damping: float
    posture_weight: float
    velocity_weight: float
    target_smoothing: float


@dataclass(frozen=True)
class FeetSettings:
    contact_speed: float
    contact_height: float
    min_frames: int
    blend_frames: int
    position_weight: float
    stance_position_weight: float
    orientation_weight: float
    ground_align: bool


@dataclass(frozen=True)
class HandSettings:
    blend_frames: int
    surface_margin: float
    position_weight: float
    orientation_weight: float


@dataclass(frozen=True)
class InteractionSettings:
    near_distance: float
    far_distance: float
    clearance: float
    penetration_weight: float
    self_push_growth: float
    penetration_rounds: int
    penetration_iterations: int


@dataclass(frozen=True)
class RetargetConfig:
    targets: tuple[Target, ...]
    scale: float  # 0: from skeletal heights
    ik: IkSettings
    feet: FeetSettings
    hands: HandSettings
    interaction: InteractionSettings


def _section(cls, data: dict, name: str, required: bool = True):
    known = [f.name for f in fields(cls)]
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"retarget config [{name}]: unknown keys {sorted(unknown)}")
    missing = [k for k in known if k not in data and required]
    if missing:
        raise ValueError(f"retarget config [{name}]: missing keys {missing}")
    try:
        return cls(**data)
    except TypeError as e:
        raise ValueError(f"retarget config [{name}]: {e}") from None


def load_config(path: str | Path = DEFAULT_CONFIG) -> RetargetConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"retarget config not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: invalid TOML ({e})") from None
    targets = []
    for i, t in enumerate(raw.get("targets", [])):
        target = _section(Target, t, f"targets #{i}", required=False)
        if target.robot not in ROBOT_FRAMES:
            raise ValueError(f"{path}: target #{i} names unknown G1 frame {target.robot!r}")
        targets.append(target)
    if not targets:
        raise ValueError(f"{path}: no [[targets]]")
    return RetargetConfig(
        targets=tuple(targets),
        scale=float(raw.get("scale", {}).get("fixed", 0.0)),
        ik=_section(IkSettings, raw.get("ik", {}), "ik"),
        feet=_section(FeetSettings, raw.get("feet", {}), "feet"),
        hands=_section(HandSettings, raw.get("hands", {}), "hands"),
        interaction=_section(InteractionSettings, raw.get("interaction", {}), "interaction"),
    )
