"""Named presets of the training configs: the documented recipes, chosen on the command
line by name (``python -m training stage1 lift ...``) and overridable flag by flag."""

from __future__ import annotations

from training.env import EnvConfig
from training.stage1 import PpoConfig, Stage1Config
from training.stage2 import Stage2Config
from training.stage3 import Stage3Config

_SMALL = PpoConfig(hidden_dims=(256, 256, 128))

STAGE1: dict[str, tuple[str, Stage1Config]] = {
    "default": ("the config's defaults", Stage1Config()),
    "synthetic": (
        "the CPU run on the walk-lift-carry clip: 128 simulations, a smaller network",
        Stage1Config(env=EnvConfig(num_envs=128), ppo=_SMALL, iterations=1200),
    ),
    "lift": (
        "the bundled lift expert: reference-based actions, fixed rate, randomized physics",
        Stage1Config(
            env=EnvConfig(num_envs=128, action_base="reference"),
            ppo=PpoConfig(hidden_dims=(256, 256, 128), learning_rate=3e-4, schedule="fixed",
                          init_noise_std=0.5),
            iterations=2100,
        ),
    ),
}  # fmt: skip

STAGE2: dict[str, tuple[str, Stage2Config]] = {
    "default": ("the config's defaults", Stage2Config()),
    "lift": (
        "the lift expert's distillation: 750 iterations, expert share to 0 by 150, in the "
        "randomized physics the expert was trained in",
        Stage2Config(iterations=750, expert_decay_iters=150, threads=2),
    ),
}

STAGE3: dict[str, tuple[str, Stage3Config]] = {
    "default": ("the config's defaults", Stage3Config()),
    "lift": (
        "the documented fine-tune of the lift run: 200 iterations",
        Stage3Config(iterations=200, threads=2),
    ),
}
