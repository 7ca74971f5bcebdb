"""From a clip to a verdict: the clip prepared once, training continued by the same
command, the export and the report (the sweep itself has its own tests in
tests/sim2sim; here it is replaced by a recorded result)."""

import json

import numpy as np
import pytest

from robots.clip import load_clip
from tests import tiny
from training import runs, verdict
from training.configs import Saving


def sweep_result(default: float, others: float) -> dict:
    rows = [{"factor": "default", "value": "-", "success_rate": default},
            {"factor": "latency", "value": "10 ms", "success_rate": others},
            {"factor": "push", "value": "0.5 m/s", "success_rate": 1.0}]  # fmt: skip
    return {"conditions": rows}


def test_a_verdict_holds_each_condition_to_its_target():
    targets = verdict.Targets(default=0.9, condition=0.7)
    v = verdict.judge(sweep_result(0.9375, 0.75), targets)
    assert v["robust"] and v["held"] == 3
    v = verdict.judge(sweep_result(0.875, 0.6875), targets)
    assert not v["robust"] and v["held"] == 1
    assert [r["held"] for r in v["conditions"]] == [False, False, True]


def test_the_same_command_prepares_once_continues_training_and_reports(clip_file, tmp_path,
                                                                       monkeypatch):  # fmt: skip
    swept = []

    def fake_sweep(policy, clip, out, episodes, seed, workers):
        swept.append((policy, clip, episodes, seed))
        assert policy.is_file() and load_clip(clip).num_frames > 0
        return sweep_result(1.0, 0.5)

    monkeypatch.setattr(verdict, "sweep", fake_sweep)
    cfg = tiny.stage1(clip_file, iterations=2, saving=Saving(interval=1, keep_every=1))
    out = tmp_path / "run"
    report = verdict.run(cfg, clip_file, out, None, 0.5, 2, 3, 7, verdict.Targets())
    source = load_clip(clip_file)
    prepared = load_clip(out / verdict.CLIP)
    assert prepared.num_frames == source.num_frames + round(0.5 * source.fps)  # the lead-in
    np.testing.assert_allclose(prepared.joint_pos[-1], source.joint_pos[-1], atol=1e-6)
    assert report["cost"]["iterations"] == 2 and report["cost"]["policy_steps"] == 2 * 4 * 4
    assert report["cost"]["wall_hours"] > 0
    assert not report["verdict"]["robust"] and swept[0][2:] == (3, 7)
    assert "not robust yet" in (out / "verdict.md").read_text()
    assert json.loads((out / "verdict.json").read_text()) == report
    # The same command with more iterations continues the run on the clip it prepared.
    first = (out / verdict.CLIP).stat().st_mtime_ns
    report = verdict.run(tiny.stage1(clip_file, iterations=3), clip_file, out, None, 0.5, 2, 3,
                         7, verdict.Targets())  # fmt: skip
    assert report["cost"]["iterations"] == 3
    assert (out / verdict.CLIP).stat().st_mtime_ns == first
    assert runs.read(out)[1].motions == (str(out / verdict.CLIP),)


def test_the_last_kept_checkpoints_are_averaged(tmp_path):
    for it in (10, 20, 30):
        (tmp_path / f"checkpoint_{it}.pt").write_bytes(b"")
    assert verdict.kept(tmp_path, 2) == (20, 30)
    assert verdict.kept(tmp_path, 1) == ()


def test_human_motion_is_retargeted_and_its_object_found_from_the_run_folder(shared, tmp_path):
    source = shared / "data/interact_omomo/motions/sub8_smallbox_000.pt"
    out = verdict.prepare_clip(source, tmp_path / "run", lead_in=0.0)
    clip = load_clip(out)
    assert not clip.object.path.startswith("/")  # relative to the run folder
    points = source.parents[1] / "objects/smallbox/sample_points.npy"
    assert clip.object.resolved_path().resolve() == points.resolve()
    assert clip.num_frames > 100


def test_a_file_that_is_no_motion_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.npz"
    bad.write_bytes(b"not a clip")
    with pytest.raises(ValueError, match="retargeting failed"):
        verdict.prepare_clip(bad, tmp_path / "run", lead_in=0.0)
