"""The policy file format: the metadata an exported ONNX policy carries, written and read
here alone. Keys follow mjlab where they exist (``joint_names``, ``joint_stiffness``,
``joint_damping``, ``default_joint_pos``, ``action_scale``, ``observation_names``), so
existing G1 tooling can read our policies; ours (``g1hoi_*``) go beside. Lists are
comma-separated; the object is JSON. numpy only."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from contract.actions import ACTION_BASES
from contract.goals.features import COMPONENTS
from contract.goals.masks import NUM_TOKENS, PREVIEW, TASKS
from contract.observations import OBSERVATION_TERMS, contract_hash, term_sizes
from robots import g1
from robots.objects import ObjectSpec

FORMAT = "g1hoi.policy/1"
OPSET = 18
GOAL_INPUTS = "history,tokens,visible,noise,task"

REQUIRED = (
    "joint_names", "joint_stiffness", "joint_damping", "default_joint_pos", "action_scale",
    "observation_names", "g1hoi_format", "g1hoi_contract_hash", "g1hoi_future_offsets",
    "g1hoi_control_hz", "g1hoi_action_clip", "g1hoi_effort_limit", "g1hoi_object",
)  # fmt: skip
GOAL_KEYS = ("g1hoi_history", "g1hoi_goal_tokens", "g1hoi_goal_components",
             "g1hoi_preview_offsets", "g1hoi_snapshot_steps", "g1hoi_latent_dim")  # fmt: skip
_COMPONENTS = ",".join(f"{n}:{s}" for n, s in COMPONENTS)


class PolicyError(ValueError):
    """A policy file that cannot be run; the message says why."""


@dataclass(frozen=True)
class GoalLayout:
    """A Stage 2/3 policy's goal inputs."""

    history: int
    snapshot_steps: tuple[int, int]
    latent_dim: int
    tasks: tuple[str, ...] = ()  # task tokens (input ``task``), e.g. ("getup",)
    tokens: int = NUM_TOKENS
    preview: tuple[int, ...] = PREVIEW


@dataclass
class PolicyInterface:
    """What a policy expects of whoever runs it: gains, action mapping, rates, the
    observation's reference offsets, the object and, for Stage 2/3, the goal inputs."""

    kp: np.ndarray
    kd: np.ndarray
    action_scale: np.ndarray
    control_hz: float
    action_clip: float
    future_offsets: tuple[int, ...]
    object: ObjectSpec
    action_base: str = "default"  # "reference": targets offset from the clip's next pose
    gain_profile: str = ""
    goals: GoalLayout | None = None  # Stage 2/3 (goal-conditioned) policies only
    stage: int = 1
    default_pos: np.ndarray = field(default_factory=lambda: g1.DEFAULT_POS.copy())
    effort_limit: np.ndarray = field(default_factory=lambda: g1.EFFORT_LIMIT.copy())
    clips: tuple[dict[str, str], ...] = ()
    """The clips it was trained on, ``clip_record`` each (empty: not recorded)."""


def clip_record(path: Path) -> dict[str, str]:
    """A clip file as a policy or a run records it: its name and SHA-256."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return {"name": Path(path).name, "sha256": digest}


def clip_warning(p: PolicyInterface, path: Path) -> str | None:
    """What is wrong with running ``p`` on the clip file ``path``, if it was not trained
    on it (None when it was, or when the policy does not say)."""
    if not p.clips:
        return None
    if clip_record(path)["sha256"] in {c["sha256"] for c in p.clips}:
        return None
    names = ", ".join(c["name"] for c in p.clips)
    return (
        f"{path} is not a clip this policy was trained on (it expects {names}, by "
        "checksum); tracking another clip is outside what it learned"
    )


def object_error(p: PolicyInterface, obj: ObjectSpec) -> str | None:
    """Why ``p`` cannot run with ``obj`` (a clip's object), or None: the policy observes
    its own object's shape, so another shape or size is refused."""
    same = p.object.shape == obj.shape and np.allclose(p.object.size, obj.size, atol=1e-4)
    if same and p.object.name == obj.name:
        return None
    return (
        f"the policy was trained for object {p.object.name!r} ({_describe(p.object)}); the "
        f"clip's is {obj.name!r} ({_describe(obj)})"
    )


def _describe(obj: ObjectSpec) -> str:
    return obj.shape + ("" if not obj.size else " " + " x ".join(f"{s:g}" for s in obj.size))


def _csv(values) -> str:
    return ",".join(repr(float(v)) if not isinstance(v, str) else v for v in values)


def _ints(values) -> str:
    return ",".join(str(int(v)) for v in values)


def write(p: PolicyInterface) -> dict[str, str]:
    """The metadata of a policy file."""
    sizes = term_sizes(len(p.future_offsets))
    terms = [n for n, _ in OBSERVATION_TERMS if p.goals is None or n != "reference_future"]
    meta = {
        "joint_names": _csv(g1.JOINT_NAMES),
        "joint_stiffness": _csv(p.kp),
        "joint_damping": _csv(p.kd),
        "default_joint_pos": _csv(p.default_pos),
        "action_scale": _csv(p.action_scale),
        "observation_names": _csv(terms),
        "g1hoi_format": FORMAT,
        "g1hoi_observation_sizes": _csv(str(sizes[n]) for n in terms),
        "g1hoi_contract_hash": contract_hash(tuple(p.future_offsets)),
        "g1hoi_future_offsets": _ints(p.future_offsets),
        "g1hoi_control_hz": repr(float(p.control_hz)),
        "g1hoi_action_clip": repr(float(p.action_clip)),
        "g1hoi_action_base": p.action_base,
        "g1hoi_gain_profile": p.gain_profile,
        "g1hoi_effort_limit": _csv(p.effort_limit),
        "g1hoi_object": p.object.to_json(),
    }
    if p.clips:
        meta["g1hoi_clips"] = json.dumps(list(p.clips))
    if p.goals is not None:
        g = p.goals
        meta |= {
            "g1hoi_stage": str(p.stage),
            "g1hoi_inputs": GOAL_INPUTS,
            "g1hoi_history": str(g.history),
            "g1hoi_goal_tokens": str(g.tokens),
            "g1hoi_goal_components": _COMPONENTS,
            "g1hoi_preview_offsets": _ints(g.preview),
            "g1hoi_snapshot_steps": _ints(g.snapshot_steps),
            "g1hoi_latent_dim": str(g.latent_dim),
            "g1hoi_tasks": ",".join(g.tasks),
        }
    return meta


def _floats(meta: dict, key: str, n: int) -> np.ndarray:
    try:
        values = np.array([float(x) for x in meta[key].split(",")])
    except ValueError:
        raise PolicyError(f"policy metadata {key!r} is not a list of numbers") from None
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        raise PolicyError(f"policy metadata {key!r} must hold {n} finite numbers")
    return values


def _goal_layout(path: Path, meta: dict) -> GoalLayout:
    missing = [k for k in GOAL_KEYS if k not in meta]
    if missing:
        raise PolicyError(f"{path}: Stage 2 policy metadata lacks {missing}")
    try:
        layout = GoalLayout(
            history=int(meta["g1hoi_history"]), tokens=int(meta["g1hoi_goal_tokens"]),
            preview=tuple(int(x) for x in meta["g1hoi_preview_offsets"].split(",")),
            snapshot_steps=tuple(int(x) for x in meta["g1hoi_snapshot_steps"].split(",")),
            latent_dim=int(meta["g1hoi_latent_dim"]),
            tasks=tuple(t for t in meta.get("g1hoi_tasks", "").split(",") if t),
        )  # fmt: skip
    except ValueError:
        raise PolicyError(f"{path}: Stage 2 goal metadata is not whole numbers") from None
    if (meta["g1hoi_goal_components"] != _COMPONENTS or layout.tokens != NUM_TOKENS
            or layout.preview != PREVIEW):  # fmt: skip
        raise PolicyError(
            f"{path}: goal layout {meta['g1hoi_goal_components']} / previews "
            f"{layout.preview} differs from this code's ({_COMPONENTS} / {PREVIEW})"
        )
    if layout.tasks != TASKS[: len(layout.tasks)]:
        raise PolicyError(f"{path}: task tokens {layout.tasks} unknown to this code ({TASKS})")
    return layout


def read(path: Path, meta: dict[str, str]) -> PolicyInterface:
    """Parse and check the metadata of the policy file ``path`` (named in errors)."""
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise PolicyError(f"{path}: policy metadata lacks {missing}")
    stage = meta.get("g1hoi_stage", "1")
    if stage not in ("1", "2", "3"):
        raise PolicyError(f"{path}: unknown policy stage {stage!r}")
    goals = _goal_layout(path, meta) if stage != "1" else None
    if tuple(meta["joint_names"].split(",")) != g1.JOINT_NAMES:
        raise PolicyError(f"{path}: joint_names differ from the G1 motor order")
    offsets = tuple(int(x) for x in meta["g1hoi_future_offsets"].split(","))
    expected = contract_hash(offsets)
    if meta["g1hoi_contract_hash"] != expected:
        raise PolicyError(
            f"{path}: observation contract {meta['g1hoi_contract_hash']} is unknown to this "
            f"code (which builds {expected}); re-export the policy with matching code"
        )
    base = meta.get("g1hoi_action_base", "default")
    if base not in ACTION_BASES or (goals and base != "default"):
        raise PolicyError(f"{path}: action base {base!r} is not supported here")
    n = g1.NUM_JOINTS
    return PolicyInterface(
        kp=_floats(meta, "joint_stiffness", n),
        kd=_floats(meta, "joint_damping", n),
        action_scale=_floats(meta, "action_scale", n),
        control_hz=float(meta["g1hoi_control_hz"]),
        action_clip=float(meta["g1hoi_action_clip"]),
        future_offsets=offsets,
        object=ObjectSpec.from_json(meta["g1hoi_object"]),
        action_base=base,
        gain_profile=meta.get("g1hoi_gain_profile", ""),
        goals=goals,
        stage=int(stage),
        default_pos=_floats(meta, "default_joint_pos", n),
        effort_limit=_floats(meta, "g1hoi_effort_limit", n),
        clips=_clips(path, meta),
    )


def _clips(path: Path, meta: dict) -> tuple[dict[str, str], ...]:
    try:
        clips = json.loads(meta.get("g1hoi_clips", "[]"))
        return tuple({"name": str(c["name"]), "sha256": str(c["sha256"])} for c in clips)
    except (ValueError, TypeError, KeyError):
        raise PolicyError(
            f"{path}: policy metadata 'g1hoi_clips' is not a list of {{name, sha256}}"
        ) from None
