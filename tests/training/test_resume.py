from pathlib import Path

import pytest

from training.resume import check_resumable, differences


def test_differences_name_every_changed_leaf_by_its_path():
    saved = {"env": {"num_envs": 4, "randomization": {"push": 0.3}, "gone": 1}}
    now = {"env": {"num_envs": 4, "randomization": {"push": 0.5}, "new": 2}}
    assert differences(saved, now) == [
        "env.gone: 1 -> None",
        "env.randomization.push: 0.3 -> 0.5",
    ]  # "new" was added after the run was saved: not compared
    assert differences(saved, saved) == []


def test_a_refusal_says_what_to_do():
    with pytest.raises(ValueError, match=r"runs/x holds a run with another model \(model: "):
        check_resumable(Path("runs/x"), "model", {"model": "a"}, {"model": "b"})
    check_resumable(Path("runs/x"), "model", {"model": "a"}, {"model": "a"})
