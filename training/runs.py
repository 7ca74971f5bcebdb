"""The run folder: the one owner of what a training run keeps on disk.

``RUN_DIR/config.json`` holds the stage, its typed config (read back by ``read``), the
run's clips by name and checksum and, for Stage 3, its Stage 2 parent's record;
``checkpoint.pt`` the latest state (weights, optimizer, normalizers, iteration and the
learning curve so far), ``checkpoint_<i>.pt`` kept ones; TensorBoard logs sit beside
them but a run does not need them to resume. A Stage 1 run's config and checkpoint are a few MB:
committed (``training/checkpoints/NAME``, see docs/training.md) they resume with the
same command on a fresh clone. Paths inside the project are stored relative to its root,
so that a clone in another folder finds them.
"""

from __future__ import annotations

import dataclasses
import json
import time
import types
import typing
from dataclasses import asdict
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from common.atomic import atomic_path, write_text
from contract.policy_file import clip_record
from robots.clip import MotionClip, load_clip
from training import distributed
from training.configs import STAGES, Saving

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
# What a resumed run may change: where it runs, how long, and when it saves.
CHANGEABLE = ("placement", "iterations", "saving")
# The settings that name files: recorded relative to the project root where inside it.
PATHS = ("motions", "expert", "init")


def stored(path: str | Path) -> str:
    """``path`` as a run records it: relative to the project root when inside it."""
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def resolved(path: str | Path) -> Path:
    """A recorded path on this machine (relative ones from the project root)."""
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def to_dict(cfg) -> dict:
    """A config as JSON values (tuples as lists)."""
    return json.loads(json.dumps(asdict(cfg)))


def from_dict(cls, data: dict):
    """The dataclass ``cls`` from its ``to_dict`` form, nested configs and tuples typed
    again; a key ``cls`` does not have is an error that names it."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{cls.__name__} has no setting {', '.join(unknown)}")
    return cls(**{k: _typed(hints[k], v) for k, v in data.items()})


def _typed(hint, value):
    if value is None:
        return None
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(hint) if a is not type(None)]
        return _typed(kinds[0], value) if len(kinds) == 1 else value
    if origin is tuple:
        return tuple(value)
    return value


def clip_files(paths) -> list[Path]:
    """The ``.npz`` clips of ``paths`` (files, or folders of them), sorted per folder."""
    files: list[Path] = []
    for p in map(resolved, paths):
        files += sorted(p.glob("*.npz")) if p.is_dir() else [p]
    if not files:
        raise FileNotFoundError(f"no motion clips in {list(map(str, paths))}")
    return files


def load_clips(paths) -> list[MotionClip]:
    return [load_clip(f) for f in clip_files(paths)]


def clip_records(run_dir: Path) -> tuple[dict[str, str], ...]:
    """The clips a run (a Stage 3 run: its parent) was trained on, as recorded."""
    saved = record(folder(run_dir))
    return tuple(saved.get("parent", saved).get("clips", ()))


def recorded(cfg):
    """``cfg`` with its file settings (``PATHS``) as a run records them: given relative
    to the working folder, kept relative to the project root (``stored``)."""
    paths = {}
    for key in set(PATHS) & {f.name for f in dataclasses.fields(cfg)}:
        value = getattr(cfg, key)
        paths[key] = tuple(map(stored, value)) if isinstance(value, tuple) else (
            stored(value) if value else value)  # fmt: skip
    return dataclasses.replace(cfg, **paths)


def write(run_dir: Path, stage: int, cfg, parent: dict | None = None) -> None:
    """Record a run's stage and config (in its ``recorded`` form), its clips and, for
    Stage 3, its parent's record, refusing a folder that holds a run with other
    settings."""
    run_dir = Path(run_dir)
    record = {"stage": stage, "config": to_dict(cfg)}
    motions = getattr(cfg, "motions", ())
    if motions:
        record["clips"] = [clip_record(f) for f in clip_files(motions)]
    if parent is not None:
        record["parent"] = parent
    path = run_dir / CONFIG
    if path.is_file():
        saved = json.loads(path.read_text())
        check_resumable(run_dir, saved, record)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(record, indent=2))


def record(run_dir: Path) -> dict:
    """The raw record of ``run_dir`` (``config.json``)."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a training run (no {CONFIG})")
    saved = json.loads(path.read_text())
    if saved.get("stage") not in STAGES:
        raise ValueError(f"{path} records no training stage (written by an older version?)")
    return saved


def read(run_dir: Path) -> tuple[int, object]:
    """(stage, typed config) of a run folder."""
    saved = record(run_dir)
    return saved["stage"], from_dict(STAGES[saved["stage"]], saved["config"])


def folder(source: str | Path) -> Path:
    """The run folder of a checkpoint or run folder."""
    path = resolved(source)
    return path.parent if path.suffix == ".pt" else path


def latent_config(run_dir: Path, expert: str = ""):
    """(Stage 2 config, stage) of a Stage 2 or 3 run: a Stage 3 run's policy is its Stage 2
    parent's, labelled by ``expert`` if given, else by the Stage 3 run's own if it chose
    one, else the parent's."""
    saved = record(folder(run_dir))
    stage = saved["stage"]
    if stage == 1:
        raise ValueError(f"{run_dir} is a Stage 1 run, not a Stage 2 or 3 one")
    if stage == 3:
        expert = expert or saved["config"]["expert"]
        saved = saved["parent"]
    cfg = from_dict(STAGES[2], saved["config"])
    if expert and not resolved(expert).exists():
        raise FileNotFoundError(f"expert {expert} does not exist")
    return (dataclasses.replace(cfg, expert=expert) if expert else cfg), stage


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


def check_resumable(run_dir: Path, saved: dict, now: dict) -> None:
    """Refuse to resume ``run_dir`` when ``now`` differs from its ``saved`` record in
    anything but ``CHANGEABLE``."""

    def fixed(r: dict) -> dict:
        return {**r, "config": {k: v for k, v in r["config"].items() if k not in CHANGEABLE}}

    diffs = differences(fixed(saved), fixed(now))
    if diffs:
        raise ValueError(
            f"{run_dir} holds a run with other settings ({'; '.join(diffs)}): resume it "
            "with its own settings, or start a new run from its checkpoint with --init "
            "and another --out"
        )


def checkpoint_file(source: str | Path) -> Path:
    """A checkpoint: the file itself, or a run folder's latest."""
    path = resolved(source)
    path = path / CHECKPOINT if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return path


def load_checkpoint(source: str | Path) -> dict:
    # A committed or shared run folder is untrusted input: weights_only unpickles tensors
    # and plain containers only, never code.
    return torch.load(checkpoint_file(source), weights_only=True, map_location="cpu")


def kept_file(run_dir: Path, iteration: int) -> Path:
    """Where a run keeps its checkpoint of ``iteration`` (``Saving.keep_every``)."""
    return Path(run_dir) / f"checkpoint_{iteration}.pt"


def kept(run_dir: Path) -> list[int]:
    """The iterations of the checkpoints a run kept, in order."""
    return sorted(int(p.stem.removeprefix("checkpoint_"))
                  for p in Path(run_dir).glob("checkpoint_*.pt"))  # fmt: skip


def load_kept(run_dir: Path, checkpoints: tuple[int | str, ...]) -> dict:
    """The ``checkpoints``: iterations the run kept, or checkpoint files (those of the
    run it continues: a soup across the continuation); one loaded, or several averaged."""
    states = [load_checkpoint(_kept_or_file(run_dir, c)) for c in checkpoints]
    return states[0] if len(states) == 1 else averaged(states)


def _kept_or_file(run_dir: Path, checkpoint: int | str) -> Path:
    if not str(checkpoint).isdigit():
        return Path(checkpoint).resolve()
    path = kept_file(run_dir, int(checkpoint))
    if not path.is_file():
        have = ", ".join(map(str, kept(run_dir))) or "none"
        raise FileNotFoundError(f"{run_dir} kept no checkpoint of iteration {checkpoint} "
                                f"(kept: {have})")  # fmt: skip
    return path


def averaged(states: list[dict]) -> dict:
    """Checkpoints of one run averaged: every weight tensor the mean of theirs (a
    checkpoint soup: runs whose single checkpoints scatter around a level average into
    a steadier policy), the rest (iteration, curve) the last one's; no optimizer state."""
    last = states[-1]

    def mean(key: str, parts: list):
        ref = parts[-1]
        if isinstance(ref, dict):
            if any(set(p) != set(ref) for p in parts):
                raise ValueError(f"checkpoints to average differ in the entries of {key!r}")
            return {k: mean(f"{key}.{k}", [p[k] for p in parts]) for k in ref}
        if not torch.is_tensor(ref) or not ref.is_floating_point():
            return ref
        if any(p.shape != ref.shape for p in parts):
            raise ValueError(f"checkpoints to average differ in the shape of {key!r}")
        return (sum(p.double() for p in parts) / len(parts)).to(ref.dtype)

    weights = {k for k in last if k.endswith("state_dict") or k == "policy"}
    weights.discard("optimizer_state_dict")
    out = {k: v for k, v in last.items() if k not in weights and k != "optimizer_state_dict"}
    out.update({k: mean(k, [s[k] for s in states]) for k in weights})
    return out


def save_checkpoint(run_dir: Path, state: dict, iteration: int, saving: Saving) -> None:
    """Write the latest checkpoint atomically, and keep a copy every ``keep_every``."""
    with atomic_path(Path(run_dir) / CHECKPOINT) as tmp:
        torch.save(state, tmp)
    if saving.keep_every and iteration % saving.keep_every == 0:
        with atomic_path(kept_file(run_dir, iteration)) as tmp:
            torch.save(state, tmp)


class Curve:
    """A run's learning curve, kept in its checkpoint: scalars per tag and iteration."""

    def __init__(self, saved: dict | None = None, upto: int | None = None):
        self.points: dict[str, list[list[float]]] = {}
        for tag, points in (saved or {}).items():
            self.points[tag] = [p for p in points if upto is None or p[0] <= upto]

    def add(self, iteration: int, scalars: dict[str, float]) -> None:
        for tag, value in scalars.items():
            self.points.setdefault(tag, []).append([iteration, float(value)])

    def state(self) -> dict:
        return {k: [list(p) for p in v] for k, v in self.points.items()}


def train_loop(run, cfg, run_dir: Path, name: str, iterate, postfix: tuple[str, ...],
               main: bool, quiet: bool = False, minutes: float | None = None) -> None:  # fmt: skip
    """The iterations of a Stage 2 or 3 ``run`` (its ``iteration``, ``optimizer``,
    ``curve``, ``state_dict``) until ``cfg.iterations`` or ``minutes`` are up: the
    learning rate, ``iterate()`` (one iteration, its logs averaged over the processes),
    the curve, and on the ``main`` process TensorBoard, a progress bar with the
    ``postfix`` logs, and the checkpoints."""
    writer = SummaryWriter(str(run_dir)) if main else None
    bar = tqdm(total=cfg.iterations, initial=run.iteration, desc=name, unit="it",
               disable=quiet or not main)  # fmt: skip
    deadline = Deadline(minutes)
    while run.iteration < cfg.iterations:
        cfg.learning_rate.apply(run.optimizer, run.iteration, cfg.iterations)
        logs = iterate()
        run.curve.add(run.iteration, logs)
        stop = distributed.mean_scalar(float(deadline.up())) > 0  # every rank stops together
        if main:
            for k, v in logs.items():
                writer.add_scalar(f"{name}/{k}", v, run.iteration)
            bar.update(1)
            bar.set_postfix({k: f"{logs[k]:.3g}" for k in postfix})
            if stop or cfg.saving.due(run.iteration, cfg.iterations):
                save_checkpoint(run_dir, run.state_dict(), run.iteration, cfg.saving)
        if stop:
            break
    bar.close()
    if writer:
        writer.close()


class Deadline:
    """``--minutes``: the time after which a run writes its checkpoint and stops."""

    def __init__(self, minutes: float | None):
        if minutes is not None and minutes <= 0:
            raise ValueError(f"--minutes {minutes}: a budget is > 0")
        self.end = None if minutes is None else time.monotonic() + 60.0 * minutes

    def up(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end
