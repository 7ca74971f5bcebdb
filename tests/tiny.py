"""The shared tiny trained runs of the test suite (built once per session by the
fixtures in ``tests/conftest.py``): sizes small enough to train in seconds."""

from training.configs import Placement, PpoConfig, Saving, Stage1Config, Stage2Config
from training.models.policy import ModelConfig

FOUR = Placement(num_envs=4, threads=1)
TINY_PPO = PpoConfig(hidden_dims=(32, 32), steps_per_env=4, learning_epochs=1, mini_batches=1)
TINY_MODEL = ModelConfig(latent_dim=8, prior_width=16, prior_heads=2, prior_layers=1,
                         encoder_hidden=(32,), decoder_hidden=(32,),
                         recon_hidden=(16,))  # fmt: skip


def stage1(clip_path, **kw) -> Stage1Config:
    """A Stage 1 config of one tiny iteration on ``clip_path``."""
    fields = {"placement": FOUR, "ppo": TINY_PPO, "iterations": 1,
              "motions": (str(clip_path),), "saving": Saving(interval=1)}  # fmt: skip
    return Stage1Config(**{**fields, **kw})


def stage2(expert, clip_path, **kw) -> Stage2Config:
    """A Stage 2 config of one tiny iteration distilling ``expert`` on ``clip_path``."""
    fields = {"expert": str(expert), "motions": (str(clip_path),), "iterations": 1,
              "placement": FOUR, "steps_per_iter": 4, "model": TINY_MODEL}  # fmt: skip
    return Stage2Config(**{**fields, **kw})
