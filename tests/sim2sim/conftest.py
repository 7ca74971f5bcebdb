import pytest

from retarget.pipeline import retarget
from retarget.synthetic import SyntheticConfig, synthetic_motion
from training.env import EnvConfig
from training.stage1 import PpoConfig, Stage1Config, train


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """A tiny trained run, its exported policy and its clip file."""
    root = tmp_path_factory.mktemp("policy")
    clip = retarget(synthetic_motion(SyntheticConfig(start=(0.6, 0.0), place_xy=(2.2, 0.0)))).clip
    clip_path = clip.save(root / "clip.npz")
    cfg = Stage1Config(
        env=EnvConfig(num_envs=4, num_threads=1),
        ppo=PpoConfig(hidden_dims=(32, 32), steps_per_env=4, learning_epochs=1, mini_batches=1),
        iterations=1,
        motions=(str(clip_path),),
    )
    train(cfg, root / "run", [clip], quiet=True)
    from training.export import export_run

    report = export_run(root / "run", root / "policy.onnx", steps=20)
    return root / "policy.onnx", clip_path, report
