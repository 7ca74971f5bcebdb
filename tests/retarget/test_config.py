import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import retarget
from retarget.config import DEFAULT_CONFIG, load_config

REPO = Path(__file__).resolve().parents[2]


def test_default_config_loads():
    cfg = load_config()
    assert {t.robot for t in cfg.targets} >= {"pelvis", "torso_link", "left_elbow_link"}
    assert cfg.ik.iterations >= 1 and cfg.hands.position_weight > 0


def test_default_config_ships_inside_the_installed_package(tmp_path):
    assert DEFAULT_CONFIG.parent == Path(retarget.__file__).parent
    src = tmp_path / "src"  # a copy: the build writes beside its sources
    shutil.copytree(REPO / "retarget", src / "retarget", ignore=shutil.ignore_patterns("*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         str(src), "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    assert "retarget/g1.toml" in zipfile.ZipFile(wheel).namelist()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace('robot = "pelvis"', 'robot = "tail_link"'), "tail_link"),
        (lambda s: s.replace("[ik]", "[ik]\nspeed = 3"), "unknown keys"),
        (lambda s: s.replace("iterations = 3", ""), "missing keys"),
        (lambda s: s + "\n[[targets]]\nrobot = 'pelvis'\n", "human"),
        (lambda s: s + "\n[broken", "invalid TOML"),
    ],
)
def test_bad_config_is_reported(tmp_path, edit, message):
    path = tmp_path / "c.toml"
    path.write_text(edit(DEFAULT_CONFIG.read_text()))
    with pytest.raises(ValueError, match=message):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "none.toml")
