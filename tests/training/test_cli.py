"""The training CLI: flags are the config dataclasses' own fields, named recipes set
many at once, and flags after a recipe override it."""

from dataclasses import replace
from pathlib import Path

import pytest

from training import recipes
from training.__main__ import Stage1, Stage2, Stage3, parse
from training.stage1 import Stage1Config
from training.stage3 import Stage3Config


def test_flags_are_the_config_fields():
    cmd = parse(["stage1", "--out", "r", "--motions", "a.npz", "--env.num-envs", "8",
                 "--ppo.hidden-dims", "32", "32", "--env.randomization.no-enabled"])  # fmt: skip
    assert isinstance(cmd, Stage1) and cmd.out == Path("r")
    default = Stage1Config()
    want = replace(default, motions=("a.npz",),
                   env=replace(default.env, num_envs=8, randomization=replace(
                       default.env.randomization, enabled=False)),
                   ppo=replace(default.ppo, hidden_dims=(32, 32)))  # fmt: skip
    assert cmd.config == want


@pytest.mark.parametrize(("stage", "table"), [("stage1", recipes.STAGE1),
                                              ("stage2", recipes.STAGE2),
                                              ("stage3", recipes.STAGE3)])  # fmt: skip
def test_every_recipe_is_a_choice(stage, table):
    for name, (_, cfg) in table.items():
        assert parse([stage, name, "--out", "r"]).config == cfg


def test_flags_after_a_recipe_override_it():
    cmd = parse(["stage1", "lift", "--out", "r", "--iterations", "5"])
    lift = recipes.STAGE1["lift"][1]
    assert cmd.config == replace(lift, iterations=5)
    assert cmd.config.env.action_base == "reference" and cmd.config.ppo.schedule == "fixed"
    cmd = parse(["stage3", "lift", "--init", "s2", "--task.fallen-prob", "0.0", "--out", "r"])
    assert isinstance(cmd, Stage3) and cmd.config.task.fallen_prob == 0.0
    assert (
        cmd.config.iterations == recipes.STAGE3["lift"][1].iterations != Stage3Config().iterations
    )


def test_missing_inputs_are_named():
    for cmd, flag in ((parse(["stage1", "--out", "r"]), "--motions"),
                      (parse(["stage2", "--out", "r"]), "--expert"),
                      (parse(["stage3", "--out", "r"]), "--init")):  # fmt: skip
        with pytest.raises(ValueError, match=flag):
            cmd.run()
    assert isinstance(parse(["stage2", "--out", "r"]), Stage2)
