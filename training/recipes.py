"""Named recipes: the documented runs, one TOML file each under ``configs/stageN/``,
chosen on the command line by name (``python -m training stage1 lift ...``) and
overridable flag by flag.

A recipe file holds ``description``, the command(s) that reproduce its run (``run``),
optionally ``base`` (another recipe of the same stage it starts from) and ``[config]``:
the settings that differ from its base (or from the stage's defaults), nested as the
config is. A phase that continues another run names that run's checkpoint in ``init``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from training.configs import STAGES
from training.runs import ROOT, from_dict, to_dict

FOLDER = ROOT / "configs"


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    run: str
    """The command(s) that reproduce the documented run."""
    config: object


def _merged(base: dict, changes: dict, where: str) -> dict:
    out = dict(base)
    for key, value in changes.items():
        if key not in base:
            raise ValueError(f"{where}: unknown setting {key!r}")
        nested = isinstance(value, dict) and isinstance(base[key], dict)
        # a dict-valued setting (pattern_probs) is replaced whole unless it is a config
        out[key] = _merged(base[key], value, f"{where}.{key}") if nested else value
    return out


def _files(stage: int) -> dict[str, dict]:
    files = sorted((FOLDER / f"stage{stage}").glob("*.toml"))
    return {f.stem: tomllib.loads(f.read_text()) for f in files}


def _settings(name: str, files: dict[str, dict], stage: int, seen=()) -> dict:
    if name in seen:
        raise ValueError(f"recipe {name!r} is its own base")
    if name not in files:
        raise ValueError(f"no stage {stage} recipe {name!r} in {FOLDER / f'stage{stage}'}")
    text = files[name]
    unknown = set(text) - {"description", "run", "base", "config"}
    if unknown:
        raise ValueError(f"recipe {name!r}: unknown keys {sorted(unknown)}")
    base = text.get("base")
    start = _settings(base, files, stage, (*seen, name)) if base else to_dict(STAGES[stage]())
    return _merged(start, text.get("config", {}), f"recipe {name!r}")


def load(stage: int) -> dict[str, Recipe]:
    """Every recipe of ``stage`` by name, ``default`` (the config's defaults) first."""
    files = _files(stage)
    out = {"default": Recipe("default", "the config's defaults", "", STAGES[stage]())}
    for name, text in files.items():
        cfg = from_dict(STAGES[stage], _settings(name, files, stage))
        out[name] = Recipe(name, text["description"], text.get("run", ""), cfg)
    return out
