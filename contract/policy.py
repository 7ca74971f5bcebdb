"""An exported policy as sim2sim and the robot node see it: an onnxruntime session and
its metadata, validated before any physics runs. numpy + onnxruntime only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from contract import policy_file
from contract.actions import clip_action, joint_targets
from contract.observations import term_sizes
from contract.policy_file import PolicyError, PolicyInterface

__all__ = ["Policy", "PolicyError"]


@dataclass
class Policy(PolicyInterface):
    """A loaded policy file: its interface (``contract.policy_file``) and session."""

    path: Path = Path()
    metadata: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        import onnxruntime as ort

        path = Path(path)
        if path.is_dir():
            raise PolicyError(
                f"{path} is a folder: give the exported policy file (a training run is "
                f"exported with `python -m training export {path}`)"
            )
        if not path.is_file():
            raise FileNotFoundError(f"policy file not found: {path}")
        with open(path, "rb") as f:
            if f.read(2) == b"PK":  # a zip archive: what torch.save writes
                raise PolicyError(
                    f"{path} is a PyTorch checkpoint, not an exported policy: export its run "
                    "first (`python -m training export RUN_DIR`, writes RUN_DIR/policy.onnx)"
                )
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 4  # fatal only: its errors reach the caller as exceptions
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise PolicyError(f"{path}: not a loadable ONNX model ({e})") from None
        meta = dict(session.get_modelmeta().custom_metadata_map)
        policy = cls(**vars(policy_file.read(path, meta)), path=path, metadata=meta)
        if policy.goals is None:  # a Stage 1 network takes the whole observation
            width = session.get_inputs()[0].shape[-1]
            size = sum(term_sizes(len(policy.future_offsets)).values())
            if width != size:
                raise PolicyError(
                    f"{path}: the network takes {width} observation numbers, its metadata's "
                    f"contract builds {size}"
                )
        policy._session = session
        return policy

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """(N, D) float32 observations -> (N, 29) clipped actions (Stage 1)."""
        return clip_action(self.raw(obs), self.action_clip)

    def raw(self, obs: np.ndarray) -> np.ndarray:
        """(N, 29) actions as the network outputs them, before the clip (Stage 1)."""
        return self._session.run(None, {"obs": np.asarray(obs, dtype=np.float32)})[0]

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
