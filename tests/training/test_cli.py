"""The training CLI: flags are the config dataclasses' own fields, named recipes (the
files under configs/) set many at once, and flags after a recipe override it."""

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from training import recipes, runs
from training.__main__ import Stage1, Stage2, Stage3, parse
from training.configs import STAGES, Placement, Stage1Config, Stage3Config

REPO = Path(__file__).resolve().parents[2]


def test_flags_are_the_config_fields():
    cmd = parse(["stage1", "--out", "r", "--motions", "a.npz", "--placement.num-envs", "8",
                 "--ppo.hidden-dims", "32", "32", "--env.randomization.no-enabled"])  # fmt: skip
    assert isinstance(cmd, Stage1) and cmd.out == Path("r") and cmd.minutes is None
    default = Stage1Config()
    want = replace(default, motions=("a.npz",), placement=Placement(num_envs=8),
                   env=replace(default.env, randomization=replace(
                       default.env.randomization, enabled=False)),
                   ppo=replace(default.ppo, hidden_dims=(32, 32)))  # fmt: skip
    assert cmd.config == want


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_recipe_file_parses_builds_and_is_a_choice(stage):
    table = recipes.load(stage)
    files = sorted((REPO / "configs" / f"stage{stage}").glob("*.toml"))
    assert set(table) == {"default", *(f.stem for f in files)}
    for f in files:
        text = tomllib.loads(f.read_text())
        assert text["description"] and text["run"].startswith("python -m training")
        # the command names its recipe (a Stage 1 recipe may be run by the verdict command)
        commands = [f"stage{stage} {f.stem}"] + [f"verdict {f.stem}"] * (stage == 1)
        assert any(c in text["run"] for c in commands)
    for name, recipe in table.items():
        assert isinstance(recipe.config, STAGES[stage])
        assert parse([f"stage{stage}", name, "--out", "r"]).config == recipe.config
        if stage == 1:
            assert parse(["verdict", name, "--out", "r", "--clip", "c"]).config == recipe.config
        # the recipe is what its run records and reads back
        assert runs.from_dict(STAGES[stage], runs.to_dict(recipe.config)) == recipe.config


def test_recipes_inherit_and_name_what_they_change():
    lift, push = recipes.load(1)["lift"].config, recipes.load(1)["lift-push"].config
    assert push.env.action_base == lift.env.action_base == "reference"
    assert push.env.randomization.push_robot_velocity == 0.5
    assert (
        push.ppo.learning_rate.at(1799, 2600) == 3e-4
        and push.ppo.learning_rate.at(1800, 2600) == 1e-4
    )
    tune = recipes.load(2)["lift-noise-deployment"].config
    assert tune.init == "runs/s2-lift-noise/checkpoint_400.pt" and tune.action_noise == 0.5
    assert tune.env.physics == "deployment" and tune.learning_rate.start == 1e-4


def test_a_recipe_with_an_unknown_setting_is_refused(tmp_path, monkeypatch):
    (tmp_path / "stage2").mkdir()
    (tmp_path / "stage2" / "bad.toml").write_text(
        'description = "x"\nrun = "python -m training stage2 bad"\n[config]\nreplay = 20\n'
    )
    monkeypatch.setattr(recipes, "FOLDER", tmp_path)
    with pytest.raises(ValueError, match=r"recipe 'bad': unknown setting 'replay'"):
        recipes.load(2)


def test_flags_after_a_recipe_override_it():
    cmd = parse(["stage1", "lift", "--out", "r", "--iterations", "5"])
    lift = recipes.load(1)["lift"].config
    assert cmd.config == replace(lift, iterations=5)
    assert cmd.config.env.action_base == "reference"
    assert not cmd.config.ppo.learning_rate.adaptive
    cmd = parse(["stage3", "lift", "--init", "s2", "--task.fallen-prob", "0.0", "--out", "r"])
    assert isinstance(cmd, Stage3) and cmd.config.task.fallen_prob == 0.0
    assert (
        cmd.config.iterations
        == recipes.load(3)["lift"].config.iterations
        != Stage3Config().iterations
    )


def test_missing_inputs_are_named():
    for cmd, flag in ((parse(["stage1", "--out", "r"]), "--motions"),
                      (parse(["stage2", "--out", "r"]), "--expert"),
                      (parse(["stage3", "--out", "r"]), "--init")):  # fmt: skip
        with pytest.raises(ValueError, match=flag):
            cmd.run()
    assert isinstance(parse(["stage2", "--out", "r"]), Stage2)


@pytest.mark.parametrize("name", ["Stage1Config", "Stage2Config", "Stage3Config"])
def test_a_run_of_no_iterations_is_refused(name):
    from training import configs

    with pytest.raises(ValueError, match="--iterations -5: a run trains at least one"):
        getattr(configs, name)(iterations=-5)
