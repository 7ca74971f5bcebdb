import pytest


@pytest.fixture(scope="session")
def exported(stage1_run, clip_file):
    """The shared tiny Stage 1 run's exported policy, its clip file and the export report."""
    from training.export import export_run

    report = export_run(stage1_run, stage1_run.parent / "policy.onnx", steps=20)
    return stage1_run.parent / "policy.onnx", clip_file, report
