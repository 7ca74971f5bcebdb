import pytest

from retarget.pipeline import retarget
from retarget.synthetic import SyntheticConfig, synthetic_motion


@pytest.fixture(scope="session")
def clip():
    """A retargeted synthetic G1 clip (walk, lift, carry, put down)."""
    return retarget(synthetic_motion(SyntheticConfig(start=(0.6, 0.0), place_xy=(2.2, 0.0)))).clip


TINY_MODEL = dict(latent_dim=8, prior_width=16, prior_heads=2, prior_layers=1,
                  encoder_hidden=(32,), decoder_hidden=(32,), recon_hidden=(16,))  # fmt: skip


@pytest.fixture(scope="session")
def stage2_run(tmp_path_factory, clip):
    """A tiny Stage 2 run (one iteration, the bundled Stage 1 policy as the expert)."""
    from pathlib import Path

    from training.models.policy import ModelConfig
    from training.stage2 import Stage2Config, train

    root = tmp_path_factory.mktemp("stage2")
    clip_path = clip.save(root / "clip.npz")
    expert = Path(__file__).resolve().parents[2] / "sim2sim/policies/stage1_synthetic.onnx"
    cfg = Stage2Config(expert=str(expert), motions=(str(clip_path),), iterations=1, num_envs=4,
                       threads=1, steps_per_iter=4, model=ModelConfig(**TINY_MODEL))  # fmt: skip
    train(cfg, root / "run", [clip], quiet=True)
    return root / "run"
