"""An exported policy as sim2sim and the robot node see it: an onnxruntime session and
its metadata, validated before any physics runs. numpy + onnxruntime only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robots import g1
from robots.objects import ObjectSpec
from training.actions import ACTION_BASES, clip_action, joint_targets
from training.observations import contract_hash

REQUIRED = (
    "joint_names", "joint_stiffness", "joint_damping", "default_joint_pos", "action_scale",
    "observation_names", "g1hoi_format", "g1hoi_contract_hash", "g1hoi_future_offsets",
    "g1hoi_control_hz", "g1hoi_action_clip", "g1hoi_effort_limit", "g1hoi_object",
)  # fmt: skip


class PolicyError(ValueError):
    """A policy file that cannot be run; the message says why."""


def _floats(meta: dict, key: str, n: int) -> np.ndarray:
    try:
        values = np.array([float(x) for x in meta[key].split(",")])
    except ValueError:
        raise PolicyError(f"policy metadata {key!r} is not a list of numbers") from None
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        raise PolicyError(f"policy metadata {key!r} must hold {n} finite numbers")
    return values


@dataclass(frozen=True)
class GoalLayout:
    """A Stage 2 policy's goal inputs, from its metadata."""

    history: int
    tokens: int
    preview: tuple[int, ...]
    snapshot_steps: tuple[int, int]
    latent_dim: int
    tasks: tuple[str, ...]  # task tokens (input ``task``), e.g. ("getup",)


def _goal_layout(path: Path, meta: dict) -> GoalLayout:
    from training.goals.features import COMPONENTS
    from training.goals.masks import NUM_TOKENS, PREVIEW, TASKS

    keys = ("g1hoi_history", "g1hoi_goal_tokens", "g1hoi_goal_components",
            "g1hoi_preview_offsets", "g1hoi_snapshot_steps", "g1hoi_latent_dim")  # fmt: skip
    missing = [k for k in keys if k not in meta]
    if missing:
        raise PolicyError(f"{path}: Stage 2 policy metadata lacks {missing}")
    components = ",".join(f"{n}:{s}" for n, s in COMPONENTS)
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
    if (meta["g1hoi_goal_components"] != components or layout.tokens != NUM_TOKENS
            or layout.preview != PREVIEW):  # fmt: skip
        raise PolicyError(
            f"{path}: goal layout {meta['g1hoi_goal_components']} / previews "
            f"{layout.preview} differs from this code's ({components} / {PREVIEW})"
        )
    if layout.tasks != TASKS[: len(layout.tasks)]:
        raise PolicyError(f"{path}: task tokens {layout.tasks} unknown to this code ({TASKS})")
    return layout


@dataclass
class Policy:
    path: Path
    kp: np.ndarray
    kd: np.ndarray
    default_pos: np.ndarray
    action_scale: np.ndarray
    effort_limit: np.ndarray
    control_hz: float
    action_clip: float
    future_offsets: tuple[int, ...]
    object: ObjectSpec
    metadata: dict
    goals: GoalLayout | None = None  # Stage 2 (goal-conditioned) policies only
    action_base: str = "default"  # "reference": targets offset from the clip's next pose

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"policy file not found: {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise PolicyError(f"{path}: not a loadable ONNX model ({e})") from None
        meta = dict(session.get_modelmeta().custom_metadata_map)
        missing = [k for k in REQUIRED if k not in meta]
        if missing:
            raise PolicyError(f"{path}: policy metadata lacks {missing}")
        stage = meta.get("g1hoi_stage", "1")
        if stage not in ("1", "2", "3"):
            raise PolicyError(f"{path}: unknown policy stage {stage!r}")
        goals = _goal_layout(path, meta) if stage != "1" else None
        names = tuple(meta["joint_names"].split(","))
        if names != g1.JOINT_NAMES:
            raise PolicyError(f"{path}: joint_names differ from the G1 motor order")
        offsets = tuple(int(x) for x in meta["g1hoi_future_offsets"].split(","))
        expected = contract_hash(offsets)
        if meta["g1hoi_contract_hash"] != expected:
            raise PolicyError(
                f"{path}: observation contract {meta['g1hoi_contract_hash']} is unknown to this "
                f"code (which builds {expected}); re-export the policy with matching code"
            )
        policy = cls(
            path=path,
            kp=_floats(meta, "joint_stiffness", g1.NUM_JOINTS),
            kd=_floats(meta, "joint_damping", g1.NUM_JOINTS),
            default_pos=_floats(meta, "default_joint_pos", g1.NUM_JOINTS),
            action_scale=_floats(meta, "action_scale", g1.NUM_JOINTS),
            effort_limit=_floats(meta, "g1hoi_effort_limit", g1.NUM_JOINTS),
            control_hz=float(meta["g1hoi_control_hz"]),
            action_clip=float(meta["g1hoi_action_clip"]),
            future_offsets=offsets,
            object=ObjectSpec.from_json(meta["g1hoi_object"]),
            metadata=meta,
            goals=goals,
            action_base=meta.get("g1hoi_action_base", "default"),
        )
        if policy.action_base not in ACTION_BASES or (goals and policy.action_base != "default"):
            raise PolicyError(f"{path}: action base {policy.action_base!r} is not supported here")
        policy._session = session
        return policy

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """(N, D) float32 observations -> (N, 29) clipped actions (Stage 1)."""
        return clip_action(self.raw(obs), self.action_clip)

    def raw(self, obs: np.ndarray) -> np.ndarray:
        """(N, 29) actions as the network outputs them, before the clip (Stage 1)."""
        return self._session.run(None, {"obs": np.asarray(obs, dtype=np.float32)})[0]

    def act(self, history, tokens, visible, noise, task=None) -> np.ndarray:
        """(N, 29) clipped actions of a Stage 2/3 policy from its goal inputs; ``noise``
        zero is the deterministic action; ``task`` (N, tasks) flags, default off."""
        return clip_action(self.raw_goals(history, tokens, visible, noise, task),
                           self.action_clip)  # fmt: skip

    def raw_goals(self, history, tokens, visible, noise, task=None) -> np.ndarray:
        """(N, 29) Stage 2/3 actions as the network outputs them, before the clip."""
        feeds = {"history": history, "tokens": tokens, "visible": visible, "noise": noise}
        if self.goals.tasks:
            feeds["task"] = (np.zeros((len(history), len(self.goals.tasks))) if task is None
                             else task)  # fmt: skip
        feeds = {k: np.asarray(v, dtype=np.float32) for k, v in feeds.items()}
        return self._session.run(None, feeds)[0]

    def targets(self, action: np.ndarray, reference_pos: np.ndarray | None = None) -> np.ndarray:
        """Joint position targets of an action (motor order); a reference-based policy
        needs ``reference_pos``, the clip's joint angles at the frame the step leads to."""
        if self.action_base == "default":
            return joint_targets(action, self.default_pos, self.action_scale)
        if reference_pos is None:
            raise ValueError("a reference-based policy needs the reference joint angles")
        return joint_targets(action, reference_pos, self.action_scale)
