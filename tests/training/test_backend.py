"""The physics backends: MuJoCo Warp (on warp's CPU device) against ``mujoco.batch``,
the import guard, and the environment on the warp backend."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from contract.goals.tokens import GoalConfig
from contract.reference import ReferenceMotions
from contract.state import StateIndex
from robots import g1
from robots.clip import load_clip
from robots.scene import build_scene
from training.backend import MujocoBatchBackend, make_backend
from training.randomization import ModelRandomizer, RandomizationConfig

REPO = Path(__file__).resolve().parents[2]
EXPERT = REPO / "sim2sim/policies/stage1_lift.onnx"
CLIP = REPO / "sim2sim/policies/stage1_lift_clip.npz"


@pytest.fixture(scope="module")
def warp():
    return pytest.importorskip("mujoco_warp")


@pytest.fixture(scope="module")
def lift():
    clip = load_clip(CLIP)
    refs = ReferenceMotions([clip], 50.0)
    return clip, refs, build_scene([refs.object]).compile()


def touching_states(refs, model, n: int, rng):
    """``n`` states of the lift clip (robot on the floor, hands at or on the box) with
    joint and velocity noise, rounded to float32 as the warp backend stores them."""
    ix = StateIndex(model, refs.object.name)
    ref, _ = refs.state(np.zeros(n, int), rng.integers(0, refs.lengths[0] - 1, n))
    q, v = np.zeros((n, model.nq)), np.zeros((n, model.nv))
    ix.write(q, v, ref)
    q[:, ix.joint_q] += rng.normal(scale=0.05, size=(n, len(ix.joint_q)))
    v += rng.normal(scale=0.3, size=v.shape)
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    return f32(q), f32(v), f32(ref.joint_pos)


def test_one_step_from_100_contact_states_matches_mujoco_batch(warp, lift):
    _, refs, model = lift
    n = 100
    q, v, ctrl = touching_states(refs, model, n, np.random.default_rng(0))
    backends = [MujocoBatchBackend(model, n, 1), make_backend("warp", model, n, device="cpu")]
    for b in backends:
        b.reset(np.arange(n))
        b.field("qpos")[:], b.field("qvel")[:], b.field("ctrl")[:] = q, v, ctrl
        b.forward()
    assert backends[1].inner.d.nacon.numpy()[0] > 2 * n  # feet on the floor, hands on the box
    for b in backends:
        b.step(1)
    cpu, gpu = ({k: b.field(k).astype(np.float64) for k in ("qpos", "qvel", "xpos", "cvel")}
                for b in backends)  # fmt: skip
    np.testing.assert_allclose(gpu["qpos"], cpu["qpos"], atol=1e-4, rtol=0)
    # Velocities: the acceleration each step integrated agrees within MuJoCo Warp's own
    # solver tolerance against C MuJoCo (its solver_test: atol = rtol = 5e-3 * 20).
    dt = model.opt.timestep
    np.testing.assert_allclose((gpu["qvel"] - v) / dt, (cpu["qvel"] - v) / dt, atol=0.1, rtol=0.1)
    # Bodies and their velocities are those of the new state, as on the batch backend.
    np.testing.assert_allclose(gpu["xpos"], cpu["xpos"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(gpu["cvel"], cpu["cvel"], atol=0.1 * dt * 10, rtol=0.1)


@pytest.mark.parametrize("worlds", [256, 5])  # all states in one launch, or in three
def test_the_warp_probe_measures_the_depths_the_c_probe_does(warp, lift, worlds):
    """The start check on the device: floor, object and self depths of states touching
    the box, sunk into the floor or with an arm in the torso, as MuJoCo's own collision
    detection gives them (float32)."""
    import torch

    from training.penetration import PenetrationProbe, WarpProbe

    _, refs, model = lift
    n = 12
    q, _, _ = touching_states(refs, model, n, np.random.default_rng(1))
    ix = StateIndex(model, refs.object.name)
    q[:4, ix.root_q + 2] -= 0.03
    q[4:8, ix.joint_q[g1.joint_index("left_shoulder_roll_joint")]] = -0.4
    backend = make_backend("warp", model, n, device="cpu", on_device=True)
    probe = WarpProbe(backend, refs.object.name, worlds=worlds)
    device = probe.depths(torch.as_tensor(q, dtype=torch.float32))
    host = PenetrationProbe(model, refs.object.name).depths(q)
    for name, a, b in zip(host._fields, host, device, strict=True):
        np.testing.assert_allclose(b.numpy(), a, atol=1e-4, err_msg=name)
        assert (a > 1e-3).any(), name  # every kind of depth is measured somewhere


def test_a_device_control_step_uploads_nothing_and_waits_only_for_resets(warp, lift):
    """What a GPU would stall on (``training.op_count``): no host array becomes a tensor
    during a step, and the host reads the device once, for the simulations to reset (the
    start checks, PSI included, wait for nothing)."""
    import torch

    from training.env import EnvConfig, HoiEnv
    from training.op_count import OpCount

    cfg = EnvConfig(num_envs=8, backend="warp", episode_seconds=0.1)
    env = HoiEnv([lift[0]], cfg, on_device=True)
    assert cfg.randomization.enabled and cfg.psi_prob > 0
    actions = torch.zeros((10, 8, 29))
    env.step(actions[0])
    with OpCount() as count:
        for a in actions[1:]:
            env.step(a)
    assert count.uploads == 0
    assert count.syncs == 9


@pytest.mark.parametrize("name", ["batch", "warp"])
def test_controls_per_substep_act_as_substeps_one_at_a_time(lift, name):
    """Latency randomization's targets: ``step(k, ctrl)`` (one graph on warp) moves the
    simulations as k single steps with those controls written between them, and reads
    new controls at every call."""
    if name == "warp":
        pytest.importorskip("mujoco_warp")
    _, refs, model = lift
    n, k = 4, 4
    q, v, ctrl = touching_states(refs, model, n, np.random.default_rng(2))
    rng = np.random.default_rng(3)
    backends = [make_backend(name, model, n, threads=1, device="cpu") for _ in range(2)]
    for b in backends:
        b.reset(np.arange(n))
        b.field("qpos")[:], b.field("qvel")[:] = q, v
        b.forward()
    for _ in range(2):
        controls = ctrl + rng.normal(scale=0.2, size=(k, n, model.nu))
        backends[0].step(k, controls)
        for c in controls:
            backends[1].field("ctrl")[:] = c
            backends[1].step(1)
        for field in ("qpos", "qvel", "xpos", "ctrl"):
            np.testing.assert_array_equal(*(b.field(field) for b in backends), err_msg=field)
    with pytest.raises(ValueError, match=r"shape \(3, 4, 29\) for 4 substeps"):
        backends[0].step(k, controls[:3])


def test_reset_returns_only_the_named_simulations_to_the_keyframe(warp, lift):
    _, _, model = lift
    b = make_backend("warp", model, 3, device="cpu")
    b.reset(np.arange(3))
    key = b.field("qpos").copy()
    b.field("qpos")[:, 0] += 1.0
    b.reset(np.array([1]))
    np.testing.assert_allclose(b.field("qpos")[1], key[1])
    np.testing.assert_allclose(b.field("qpos")[[0, 2], 0], key[[0, 2], 0] + 1.0)


def test_randomization_reaches_the_physics_of_its_simulation_only(warp, lift):
    _, refs, model = lift
    b = make_backend("warp", model, 2, device="cpu")
    names = ("body_mass", "geom_friction", "actuator_gainprm", "actuator_biasprm")
    before = {k: b.model_field(k).copy() for k in names}
    ModelRandomizer(b, model, refs.object.name, RandomizationConfig()).apply(
        np.array([1]), np.random.default_rng(0)
    )
    for name, old in before.items():
        now = b.model_field(name)
        np.testing.assert_array_equal(now[0], old[0])
        assert not np.array_equal(now[1], old[1]), name
    # The same state and targets move the two simulations apart (other motor gains).
    b.reset(np.arange(2))
    b.field("ctrl")[:] = b.field("qpos")[:, 7:36] + 0.3
    b.forward()
    b.step(10)
    assert np.abs(b.field("qpos")[0] - b.field("qpos")[1]).max() > 1e-3


def test_the_bundled_lift_expert_succeeds_on_the_warp_backend(warp, lift):
    from training.env import HoiEnv
    from training.evaluate import attempts
    from training.expert import expert_env_config, load_expert

    clip = load_clip(REPO / "sim2sim/policies/stage1_lift_standing_clip.npz")  # its own
    cfg, _ = expert_env_config(EXPERT, [clip])
    cfg = replace(
        cfg,
        num_envs=1,
        psi_prob=0.0,
        episode_seconds=clip.duration + 1.0,
        backend="warp",
        randomization=replace(cfg.randomization, enabled=False),
    )
    env = HoiEnv([clip], cfg)
    report = attempts(env, 1, "full", GoalConfig(), load_expert(EXPERT, env))
    assert report["success_rate"] == 1.0 and report["E_o_cm"] < 15.0


def test_unknown_backend_and_device_are_named(lift):
    model = lift[2]
    with pytest.raises(ValueError, match="unknown physics backend 'jax'"):
        make_backend("jax", model, 1)
    with pytest.raises(ValueError, match="runs on the CPU"):
        make_backend("batch", model, 1, device="cuda")


def test_without_mujoco_warp_the_error_names_the_extra_and_batch_still_works(lift, monkeypatch):
    monkeypatch.setitem(sys.modules, "mujoco_warp", None)  # import fails as if absent
    model = lift[2]
    with pytest.raises(ImportError, match=r'pip install -e "\.\[gpu\]"'):
        make_backend("warp", model, 1)
    b = make_backend("batch", model, 2, threads=1)
    b.reset(np.arange(2))
    b.step(1)
    assert np.isfinite(b.field("qpos")).all()


@pytest.mark.slow  # three full training loops; the device tests below step each stage too
def test_one_iteration_of_each_stage_on_the_warp_backend(warp, clip, stage2_run, tmp_path):
    import torch

    from tests.tiny import TINY_MODEL
    from training.configs import (
        Placement,
        PpoConfig,
        Saving,
        Stage1Config,
        Stage2Config,
        Stage3Config,
    )
    from training.runs import CHECKPOINT
    from training.stage1 import train as train1
    from training.stage2 import Stage2
    from training.stage3 import Stage3

    ppo = PpoConfig(hidden_dims=(16,), steps_per_env=3, learning_epochs=1, mini_batches=1)
    warp_cpu = Placement(2, threads=1, backend="warp")
    cfg = Stage1Config(ppo=ppo, iterations=1, placement=warp_cpu, saving=Saving(interval=1))
    runner = train1(cfg, tmp_path / "s1", [clip], quiet=True)
    assert type(runner.env.env.backend).__name__ == "WarpBackend"
    # Where the physics ran is not part of the run: it resumes on the batch backend.
    train1(replace(cfg, iterations=2, placement=Placement(2, threads=1)), tmp_path / "s1",
           [clip], quiet=True)  # fmt: skip
    assert torch.load(tmp_path / "s1" / CHECKPOINT, weights_only=True)["iter"] == 1

    s2 = Stage2(Stage2Config(expert=str(REPO / "tests/fixtures/stage1_synthetic.onnx"),
                             placement=warp_cpu, steps_per_iter=3, epochs=1, mini_batches=1,
                             model=TINY_MODEL), [clip])  # fmt: skip
    assert np.isfinite(s2.learn(s2.rollout())["imitation"])

    s3 = Stage3(Stage3Config(init=str(stage2_run), placement=replace(warp_cpu, num_envs=4),
                             steps_per_iter=3, epochs=1, mini_batches=1, critic_warmup_iters=0,
                             critic_hidden=(8,)))  # fmt: skip
    assert type(s3.env.backend).__name__ == "WarpBackend"
    logs = s3.learn(s3.rollout(), s3.distill.rollout())
    assert np.isfinite(logs["surrogate"])


def test_host_copies_as_on_a_gpu_give_the_same_environment(warp, lift):
    """The numpy environment's CUDA path (fields are host copies, synced at every call)
    on the CPU device: with randomization, resets and pushes it runs bit for bit as
    with views."""
    from training.backend import HostArrays, WarpBackend
    from training.env import EnvConfig, HoiEnv

    clip, refs, _ = lift
    cfg = EnvConfig(num_envs=3, backend="warp", episode_seconds=0.3)
    model = build_scene([refs.object], gains=cfg.gains, options=cfg.physics).compile()
    runs = []
    for copies in (False, True):
        env = HoiEnv([clip], cfg, backend=HostArrays(WarpBackend(model, 3), copies=copies))
        rng = np.random.default_rng(1)
        runs.append(np.stack([env.step(rng.normal(scale=0.5, size=(3, 29)))[0] for _ in range(20)]))
    assert env.backend.copies is True and env.steps.max() < 20  # it reset on the way
    np.testing.assert_array_equal(runs[0], runs[1])


def test_the_environment_on_the_device_computes_what_the_host_one_does(warp, lift):
    """Torch on the simulation's device against numpy on the host, same starts and
    actions, no randomization: observations, rewards and terminations agree."""
    import torch

    from training.env import EnvConfig, HoiEnv

    clip = lift[0]
    cfg = EnvConfig(num_envs=4, backend="warp", psi_prob=0.0, episode_seconds=0.4,
                    randomization=RandomizationConfig(enabled=False))  # fmt: skip
    envs = [HoiEnv([clip], cfg, on_device=d) for d in (False, True)]
    assert isinstance(envs[1].frame, torch.Tensor) and isinstance(envs[0].frame, np.ndarray)
    ids, frames = np.arange(4), np.array([0, 40, 80, 120])
    envs[0].reset_to(ids, np.zeros(4, int), frames)
    t = torch.as_tensor
    envs[1].reset_to(t(ids), torch.zeros(4, dtype=torch.long), t(frames))
    rng, first = np.random.default_rng(2), np.ones(4, bool)  # in the first episode
    for _ in range(18):
        action = rng.normal(scale=0.3, size=(4, 29))
        host, dev = envs[0].step(action), envs[1].step(t(action, dtype=torch.float32))
        for a, b in zip(host[1:4], dev[1:4], strict=True):  # rewards, terminated, truncated
            np.testing.assert_allclose(b.numpy()[first], a[first], rtol=1e-3, atol=1e-3)
        first &= ~(host[2] | host[3])  # restarts draw from other random streams
        np.testing.assert_allclose(dev[0].numpy()[first], host[0][first], atol=2e-3)
    assert 0 < first.sum() < 4  # some episodes ended on the way, others went on


@pytest.fixture
def conversions(monkeypatch) -> list[str]:
    """Every conversion of a torch tensor to numpy or Python values (``numpy``,
    ``__array__``, ``tolist``, ``item``) made by code of this project, as it happens."""
    import torch

    ours, calls = tuple(str(REPO / d) for d in ("training", "contract", "robots")), []

    def watch(name):
        original = getattr(torch.Tensor, name)

        def watched(self, *args, **kwargs):
            code = sys._getframe(1).f_code
            if code.co_filename.startswith(ours):
                calls.append(f"{name} from {code.co_filename}:{code.co_name}")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, watched)

    for name in ("numpy", "__array__", "tolist", "item"):
        watch(name)
    return calls


def test_a_stage1_iteration_on_the_device_never_converts_to_numpy(warp, clip, tmp_path,
                                                                  conversions):  # fmt: skip
    """Item 2's rule: with the warp backend, the environment, the rollout and the update
    keep their tensors on the device: no code of this project turns one into numpy,
    but for the iteration's log of the episodes that ended (once per iteration)."""
    import torch

    from training.configs import Placement, PpoConfig, Saving, Stage1Config
    from training.env import EnvConfig
    from training.stage1 import train as train1

    ppo = PpoConfig(hidden_dims=(16,), steps_per_env=4, learning_epochs=1, mini_batches=1)
    env = EnvConfig(episode_seconds=0.1)  # episodes end and restart (PSI too)
    cfg = Stage1Config(env=env, ppo=ppo, iterations=1, placement=Placement(4, backend="warp"),
                       saving=Saving(interval=100))  # fmt: skip
    runner = train1(cfg, tmp_path / "s1", [clip], quiet=True)
    assert isinstance(runner.env.env.frame, torch.Tensor)
    assert runner.env.env.cfg.randomization.enabled and runner.env.env.probe is not None
    assert conversions == [f"numpy from {REPO / 'training/stage1.py'}:_record_episodes"]


def test_a_stage2_rollout_on_the_device_never_converts_to_numpy(warp, lift, conversions):
    """The DAgger rollout (environment, ONNX expert, goals, student, storage) on the
    warp backend stays in torch on the device."""
    import torch

    from tests.tiny import TINY_MODEL
    from training.configs import Placement, Stage2Config
    from training.stage2 import Stage2

    cfg = Stage2Config(expert=str(EXPERT), placement=Placement(4, backend="warp"),
                       steps_per_iter=12, epochs=1, mini_batches=1,
                       model=TINY_MODEL)  # fmt: skip
    run = Stage2(cfg, [lift[0]])
    run.env.max_steps = 5  # episodes end and restart within the rollout
    batch = run.rollout()
    assert not conversions, conversions
    assert isinstance(run.env.frame, torch.Tensor) and isinstance(run.goals.mask, torch.Tensor)
    assert batch["expert_action"].device == run.device and not batch["same_episode"].all()
    assert np.isfinite(run.learn(batch)["imitation"])
    # What a GPU would stall on (``training.op_count``): the resets only.
    from training.op_count import OpCount

    with OpCount() as count:
        run.rollout()
    assert count.uploads == 0
    assert count.syncs == cfg.steps_per_iter


def test_a_stage3_rollout_on_the_device_never_converts_to_numpy(warp, stage2_run,
                                                                 conversions):  # fmt: skip
    """Both Stage 3 groups (in-betweening PPO with fallen starts, and the preservation
    distillation) on the warp backend stay in torch on the device."""
    import torch

    from training.configs import Placement, Stage3Config
    from training.inbetween import InbetweenConfig
    from training.stage3 import Stage3

    task = InbetweenConfig(fallen_prob=0.5, fallen_states=4)
    s3 = Stage3(Stage3Config(init=str(stage2_run), placement=Placement(4, backend="warp"),
                             steps_per_iter=6, epochs=1, mini_batches=1, critic_warmup_iters=0,
                             critic_hidden=(8,), task=task))  # fmt: skip
    s3.env.max_steps = 3  # episodes end and restart within the rollout
    batch, preserve = s3.rollout(), s3.distill.rollout()
    assert not conversions, conversions
    assert isinstance(s3.env.getup, torch.Tensor) and batch["done"].any()
    assert np.isfinite(s3.learn(batch, preserve)["surrogate"])
    # What a GPU would stall on (``training.op_count``): the resets only, fallen and
    # in-betweening starts included.
    from training.op_count import OpCount

    with OpCount() as count:
        s3.rollout()
    assert count.uploads == 0
    assert count.syncs == s3.cfg.steps_per_iter


def test_a_missing_device_is_named(warp, lift):
    import warp as wp

    if wp.is_cuda_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(ValueError, match="warp has no device 'cuda'"):
        make_backend("warp", lift[2], 1, device="cuda")
