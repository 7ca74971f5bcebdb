"""Reference-based actions (``action_base="reference"``): targets offset the clip's next
pose; experts trained so label default-pose students with re-based actions, and their
exported policies carry the base to sim2sim."""

from dataclasses import replace

import numpy as np
import pytest

from contract.actions import joint_targets, rebase, safe_targets
from robots import g1
from tests import tiny
from training.env import EnvConfig, HoiEnv
from training.randomization import RandomizationConfig
from training.stage1 import train

EXACT = dict(randomization=RandomizationConfig(enabled=False), psi_prob=0.0, num_threads=1)


def test_rebase_keeps_the_targets():
    rng = np.random.default_rng(0)
    a, b1, b2, s = rng.normal(size=(4, 3, 29)) + np.r_[0, 0, 0, 1.5][:, None, None]
    np.testing.assert_allclose(joint_targets(rebase(a, b1, b2, s), b2, s), joint_targets(a, b1, s))


def test_zero_action_tracks_the_reference_pose(clip):
    env = HoiEnv([clip], EnvConfig(num_envs=3, action_base="reference", **EXACT))
    ahead = env.refs.state(env.clip, env.frame + 1)[0].joint_pos
    env.step(np.zeros((3, 29)))
    # (inside the joints' safe range: the reference touches an ankle limit here)
    np.testing.assert_allclose(env.backend.field("ctrl"), safe_targets(ahead))
    with pytest.raises(ValueError, match="action_base"):
        HoiEnv([clip], EnvConfig(num_envs=1, action_base="absolute", **EXACT))


def test_reference_based_expert_labels_a_default_student(tmp_path, clip):
    from contract.policy import Policy
    from sim2sim.harness import Sim2Sim
    from training.expert import expert_env_config, load_expert
    from training.export import export_run

    clip_path = clip.save(tmp_path / "clip.npz")
    exact = {k: v for k, v in EXACT.items() if k != "num_threads"}
    cfg = tiny.stage1(clip_path, env=EnvConfig(action_base="reference", **exact))
    train(cfg, tmp_path / "run", [clip], quiet=True)
    export_run(tmp_path / "run", tmp_path / "expert.onnx", steps=10)
    policy = Policy.load(tmp_path / "expert.onnx")
    assert policy.action_base == "reference"
    with pytest.raises(ValueError, match="reference joint angles"):
        policy.targets(np.zeros(29))
    for source in (tmp_path / "run", tmp_path / "expert.onnx"):
        env_cfg = replace(expert_env_config(source, [clip])[0], num_envs=4)
        assert env_cfg.action_base == "default"  # the student's environment...
        need = np.abs((clip.joint_pos - g1.DEFAULT_POS) / HoiEnv([clip], env_cfg).action_scale)
        assert env_cfg.action_clip >= 10 + need.max()  # ...reaches every expert target
        student = HoiEnv([clip], env_cfg)
        label = load_expert(source, student)
        own = HoiEnv([clip], replace(env_cfg, action_base="reference", action_clip=10.0))
        for env in (student, own):
            env.reset_to(np.arange(4), np.zeros(4, int), np.array([0, 10, 20, 30]))
        # Executing the labels in the student's environment is the expert in its own,
        # step after step (the expert also reads its own last action back).
        for _ in range(12):
            a = label(student.observation())
            b = policy(own.observation())
            np.testing.assert_allclose(
                joint_targets(a, student.action_base(), student.action_scale),
                joint_targets(b, own.action_base(), own.action_scale), atol=1e-3,
            )  # fmt: skip
            student.step(a)
            own.step(b)
    assert Sim2Sim(policy, clip).episode()["survival_s"] > 0
