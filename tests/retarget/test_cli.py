import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from retarget.readers.generic import write_generic


def run(*args, ok=True):
    proc = subprocess.run(
        [sys.executable, "-m", "retarget", *args], capture_output=True, text=True, timeout=600
    )
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_help():
    text = run("--help").stdout
    assert "--jobs" in text and "[INPUT ...]" in text
    assert "STR" not in text and "(default: None)" not in text and "(default: )" not in text


def test_every_input_failing_prints_no_table(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a motion")
    proc = run(str(bad), "--out", str(tmp_path / "out"), ok=False)
    assert proc.returncode == 1
    assert "FAILED" in proc.stdout + proc.stderr and "retargeted 0" not in proc.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["clips"] == {} and list(summary["failed"]) == [str(bad)]


def test_batch_skips_bad_inputs(tmp_path, short_synthetic):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_generic(short_synthetic, inputs / "good.npz")
    bad = inputs / "sub1_largebox_000.pt"
    torch.save(torch.zeros(10, 591), bad)
    bad.write_bytes(bad.read_bytes()[:200])  # truncated
    nan = inputs / "nan.npz"
    with np.load(inputs / "good.npz") as d:
        arrays = {k: d[k] for k in d.files}
    arrays["positions"] = arrays["positions"].copy()
    arrays["positions"][5, 3, 1] = np.nan
    np.savez(nan, **arrays)
    out = tmp_path / "out"
    proc = run(str(inputs), "--out", str(out), "--jobs", "2", ok=False)
    assert proc.returncode == 1
    text = proc.stdout + proc.stderr
    assert "sub1_largebox_000.pt" in text and "nan.npz" in text and "NaN" in text
    names = sorted(p.name for p in out.iterdir())
    assert names == ["good.json", "good.npz", "summary.json"]  # nothing half-written
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["clips"]) == {"good"} and len(summary["failed"]) == 2


@pytest.mark.slow  # retargets and renders the whole synthetic clip
def test_synthetic_with_video(tmp_path):
    import re

    from robots.render import video_frames

    proc = run("--synthetic", "--render", "--out", str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "summary.json", "synthetic.json", "synthetic.mp4", "synthetic.npz",
    ]  # fmt: skip
    metrics = json.loads((tmp_path / "synthetic.json").read_text())
    assert metrics["joint_limit_violations"] == 0
    # One bar over solved and rendered frames, and it ends full.
    total = metrics["frames"] + len(video_frames(metrics["frames"], 30.0))
    ends = re.findall(r"retarget: 100%\|[^|]*\| (\d+)/(\d+)", proc.stderr)
    assert ends and ends[-1] == (str(total), str(total)), proc.stderr[-500:]


def test_no_inputs_is_an_error(tmp_path):
    proc = run("--out", str(tmp_path), ok=False)
    assert proc.returncode == 2 and "no inputs" in proc.stdout


def test_a_stopped_run_resumes_and_the_summary_lists_targets(tmp_path):
    first = run("--synthetic-lift", "--out", str(tmp_path))
    clip = tmp_path / "synthetic_lift.npz"
    frames = json.loads((tmp_path / "synthetic_lift.json").read_text())["frames"]
    assert f"{frames}/{frames}" in first.stderr  # one bar over all frames
    stamp = clip.stat().st_mtime_ns
    again = run("--synthetic-lift", "--out", str(tmp_path))
    assert "1 clips already done" in again.stdout and clip.stat().st_mtime_ns == stamp
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["quality"]["frames"] == frames and summary["quality"]["clips"] == 1
    metrics = summary["clips"]["synthetic_lift"]
    missed = [k for k, bound in summary["targets"].items() if metrics[k] > bound]
    assert "stance_foot_height_max_cm" in summary["targets"]
    assert summary["missed_targets"] == ({"synthetic_lift": missed} if missed else {})
    run("--synthetic-lift", "--out", str(tmp_path), "--overwrite")
    assert clip.stat().st_mtime_ns != stamp


def test_dataset_files_in_worker_processes(tmp_path, shared):
    """InterAct files read in the parent (the scan) and again in a worker: a forked
    worker deadlocked in torch's thread pool; spawned ones finish."""
    data = shared / "data" / "interact_omomo" / "motions"
    if not data.is_dir():
        pytest.skip("no shared OMOMO clips")
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("sub8_smallbox_000.pt", "sub8_plasticbox_001.pt"):
        (inputs / name).symlink_to(data / name)
    out = tmp_path / "out"
    run(str(inputs), "--out", str(out), "--objects-root", str(data.parent / "objects"))
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["clips"]) == ["sub8_plasticbox_001", "sub8_smallbox_000"]
