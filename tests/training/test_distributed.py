from training.distributed import physics_device


def test_each_torchrun_process_simulates_on_its_own_gpu(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert physics_device("cuda") == "cuda"
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert physics_device("cuda") == "cuda:3"
    assert physics_device("cuda:0") == "cuda:0"  # an explicit device is kept
    assert physics_device("cpu") == "cpu"
