from training.distributed import physics_device


def test_each_torchrun_process_simulates_on_its_own_gpu(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert physics_device("cuda") == "cuda"
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert physics_device("cuda") == "cuda:3"
    assert physics_device("cuda:0") == "cuda:0"  # an explicit device is kept
    assert physics_device("cpu") == "cpu"


def test_gpu_processes_join_an_nccl_group_on_their_own_gpu(monkeypatch):
    """Under ``torchrun`` with ``--device cuda`` (no GPUs here: the calls are recorded)."""
    import torch
    import torch.distributed as dist

    from training import distributed

    calls = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda backend: calls.append(backend))
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: calls.append(str(d)))
    monkeypatch.setattr(distributed, "_device", "cpu")
    distributed.setup("cuda")
    assert calls == ["cuda:1", "nccl"] and distributed._device == "cuda:1"
    calls.clear()
    distributed.setup("cpu")
    assert calls == ["gloo"]
