from pathlib import Path

import onnx
import pytest

from contract.policy import Policy, PolicyError
from contract.policy_file import REQUIRED
from training.export import PARITY_TOL


def test_export_parity_and_metadata(exported):
    path, _, report = exported
    assert report["parity_max_rel_diff"] <= PARITY_TOL and report["observations"] == 160
    model = onnx.load(str(path))
    assert model.opset_import[0].version >= 17
    meta = {p.key: p.value for p in model.metadata_props}
    assert set(REQUIRED) <= set(meta)
    assert meta["joint_names"].split(",")[0] == "left_hip_pitch_joint"
    # Normalization is inside the graph: the running mean/var are initializers.
    ops = {n.op_type for n in model.graph.node}
    assert {"Sub", "Div"} <= ops or {"Sub", "Mul"} <= ops
    policy = Policy.load(path)
    assert policy.kp.shape == (29,) and policy.control_hz == 50.0


def rewrite(src, dst, edit):
    model = onnx.load(str(src))
    edit(model)
    onnx.save(model, str(dst))
    return dst


def test_bad_policy_files_fail_before_physics(exported, tmp_path):
    path, _, _ = exported
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(PolicyError, match="not a loadable ONNX"):
        Policy.load(corrupt)
    import torch

    torch.save({"actor_state_dict": {}}, tmp_path / "checkpoint.pt")
    with pytest.raises(PolicyError, match=r"PyTorch checkpoint.*python -m training export"):
        Policy.load(tmp_path / "checkpoint.pt")
    with pytest.raises(PolicyError, match=r"is a folder.*python -m training export"):
        Policy.load(tmp_path)

    def strip(model):
        del model.metadata_props[:]

    with pytest.raises(PolicyError, match="metadata lacks"):
        Policy.load(rewrite(path, tmp_path / "bare.onnx", strip))

    def setting(key, value):
        def edit(model):
            for p in model.metadata_props:
                if p.key == key:
                    p.value = value

        return edit

    other = setting("g1hoi_contract_hash", "0000000000000000")
    with pytest.raises(PolicyError, match="observation contract 0000000000000000 is unknown"):
        Policy.load(rewrite(path, tmp_path / "other.onnx", other))
    with pytest.raises(PolicyError, match="joint_stiffness"):
        Policy.load(rewrite(path, tmp_path / "gains.onnx", setting("joint_stiffness", "1,2,3")))
    with pytest.raises(FileNotFoundError):
        Policy.load(tmp_path / "missing.onnx")
    # Metadata for two future frames on a network trained with four: refused at load.
    from contract.observations import contract_hash

    def fewer(model):
        setting("g1hoi_future_offsets", "1,2")(model)
        setting("g1hoi_contract_hash", contract_hash((1, 2)))(model)

    with pytest.raises(PolicyError, match=r"network takes 498 observation numbers.*builds"):
        Policy.load(rewrite(path, tmp_path / "fewer.onnx", fewer))


def test_a_policy_for_another_object_is_refused_before_physics(exported):
    from dataclasses import replace

    from robots.clip import load_clip
    from sim2sim.harness import Sim2Sim

    path, clip_path, _ = exported
    clip = load_clip(clip_path)
    bigger = replace(clip, object=replace(clip.object, size=(0.5, 0.5, 0.5)))
    with pytest.raises(ValueError, match=r"trained for object 'box' \(box .*clip's is 'box'"):
        Sim2Sim(Policy.load(path), bigger)


def test_the_policy_names_its_clips_and_another_clip_is_warned_of(exported):
    from contract.policy_file import clip_record, clip_warning

    path, clip_path, _ = exported
    policy = Policy.load(path)
    assert policy.clips == (clip_record(clip_path),)
    assert clip_warning(policy, clip_path) is None
    other = Path(__file__).resolve().parents[2] / "sim2sim/policies/stage1_lift_clip.npz"
    warning = clip_warning(policy, other)
    assert "stage1_lift_clip.npz is not a clip this policy was trained on" in warning
    assert "it expects clip.npz" in warning
