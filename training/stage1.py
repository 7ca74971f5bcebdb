"""Stage 1: the full-reference tracking expert (InterMimic+), PPO from rsl-rl-lib.

The environment is wrapped as an rsl-rl ``VecEnv`` (torch tensors in, out). Checkpoints
are written atomically into ``RUN_DIR`` every ``save_interval`` iterations; starting
again with the same ``RUN_DIR`` resumes from the last one and runs up to the same total
iteration count. TensorBoard logs go to ``RUN_DIR``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from rsl_rl.env import VecEnv
from rsl_rl.runners import OnPolicyRunner
from tensordict import TensorDict
from tqdm import tqdm

from robots.atomic import atomic_path, write_text
from robots.clip import MotionClip
from training.backend import BackendName
from training.distributed import physics_device
from training.env import EnvConfig, HoiEnv, without_placement
from training.resume import check_resumable

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"


@dataclass(frozen=True)
class PpoConfig:
    hidden_dims: tuple[int, ...] = (1024, 1024, 512)
    steps_per_env: int = 24
    learning_epochs: int = 5
    mini_batches: int = 4
    learning_rate: float = 1e-3
    schedule: str = "adaptive"
    """Either "adaptive" (rsl-rl: the rate follows the KL to desired_kl) or "fixed"."""
    desired_kl: float = 0.01
    entropy_coef: float = 0.005
    gamma: float = 0.99
    lam: float = 0.95
    init_noise_std: float = 1.0
    noise_std_range: tuple[float, float] = (1e-6, 1e6)
    """The exploration std is clamped to this range per joint. An upper bound keeps the
    rollouts' noise at a size the policy can survive, so it learns to succeed under it:
    the margin a student's imitation error needs (equal bounds fix the std)."""
    late_from: int = 0
    """Fixed schedule: from this iteration on (0: never) the rate is ``late_learning_rate``
    (at a fixed rate the checkpoints keep swinging late in a run)."""
    late_learning_rate: float = 1e-4
    save_interval: int = 10
    keep_every: int = 0
    """Also keep ``checkpoint_<iteration>.pt`` every this many iterations (0: only the
    latest), to choose among checkpoints afterwards."""

    def __post_init__(self):
        low, high = self.noise_std_range
        if not 0 < low <= high:
            raise ValueError(f"noise_std_range must be 0 < low <= high, got {self.noise_std_range}")

    def learning_rate_at(self, iteration: int) -> float | None:
        """The fixed schedule's rate at ``iteration`` (None for the adaptive one)."""
        if self.schedule != "fixed":
            return None
        late = self.late_from and iteration >= self.late_from
        return self.late_learning_rate if late else self.learning_rate


@dataclass(frozen=True)
class Stage1Config:
    env: EnvConfig = field(default_factory=EnvConfig)
    ppo: PpoConfig = field(default_factory=PpoConfig)
    iterations: int = 1000
    motions: tuple[str, ...] = ()
    backend: BackendName = "batch"
    """Physics: batch (MuJoCo threads on the CPU) or warp (MuJoCo Warp)."""
    device: str = "cpu"
    """The warp backend's device: cuda, cuda:N or cpu."""


class TorchVecEnv(VecEnv):
    """rsl-rl view of :class:`HoiEnv` (actor and critic see the same observation): on
    the environment's device when it computes in torch, else numpy converted on the CPU."""

    def __init__(self, env: HoiEnv):
        self.env = env
        self.num_envs = env.n
        self.num_actions = 29
        self.max_episode_length = env.max_steps
        self.on_device = env.xp is not np
        self.device = str(env.frame.device) if self.on_device else "cpu"
        self.episode_length_buf = torch.zeros(env.n, dtype=torch.long, device=self.device)
        self.cfg = asdict(env.cfg)
        self._obs = env.observation()
        # NaN seen since the last check (``check_finite``): one host read per iteration
        # instead of rsl-rl's four per step
        self._nan = torch.zeros((), dtype=torch.bool, device=self.device)

    @staticmethod
    def _tensor(a) -> torch.Tensor:
        return torch.as_tensor(a)  # a tensor as it is; numpy without a copy

    def _wrap(self, obs) -> TensorDict:
        t = self._tensor(obs).float()
        return TensorDict({"policy": t, "critic": t}, batch_size=[self.num_envs])

    def get_observations(self) -> TensorDict:
        return self._wrap(self._obs)

    def step(self, actions: torch.Tensor):
        actions = actions.detach()
        obs, reward, terminated, truncated, info = self.env.step(
            actions if self.on_device else actions.cpu().numpy()
        )
        self._obs = obs
        self.episode_length_buf = self._tensor(self.env.steps).clone()
        # 0-d tensors: rsl-rl averages them at logging time, no host read per step
        log = {f"reward/{k}": self._tensor(v).float().mean() for k, v in info["terms"].items()}
        extras = {"time_outs": self._tensor(truncated), "log": log}
        dones = self._tensor(terminated | truncated)
        obs, reward = self._wrap(obs), self._tensor(reward).float()
        self._nan |= torch.isnan(obs["policy"]).any() | torch.isnan(reward).any()
        return obs, reward, dones, extras

    def check_finite(self) -> None:
        """Raise if an observation or reward was NaN since the last call."""
        if bool(self._nan):
            raise ValueError("the environment returned NaN observations or rewards (a "
                             "simulation diverged, or a bug in a term)")  # fmt: skip


def rsl_config(cfg: PpoConfig) -> dict:
    model = {
        "class_name": "MLPModel",
        "hidden_dims": list(cfg.hidden_dims),
        "activation": "elu",
        "obs_normalization": True,
    }
    return {
        "algorithm": {
            "class_name": "PPO",
            "num_learning_epochs": cfg.learning_epochs,
            "num_mini_batches": cfg.mini_batches,
            "learning_rate": cfg.learning_rate,
            "entropy_coef": cfg.entropy_coef,
            "gamma": cfg.gamma,
            "lam": cfg.lam,
            "schedule": cfg.schedule,
            "desired_kl": cfg.desired_kl,
        },
        "actor": {
            **model,
            "distribution_cfg": {
                "class_name": "GaussianDistribution",
                "init_std": cfg.init_noise_std,
                "std_range": list(cfg.noise_std_range),
            },
        },
        "critic": dict(model),
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "num_steps_per_env": cfg.steps_per_env,
        "save_interval": cfg.save_interval,
        "check_for_nan": False,  # TorchVecEnv.check_finite, once per iteration
        "logger": "tensorboard",
    }


class Runner(OnPolicyRunner):
    """OnPolicyRunner with atomic checkpoints, weights-only loading and a progress bar."""

    def __init__(
        self, env: TorchVecEnv, ppo: PpoConfig, run_dir: Path, total: int, quiet: bool = False
    ):
        with contextlib.redirect_stdout(io.StringIO()):
            super().__init__(env, rsl_config(ppo), log_dir=str(run_dir), device=env.device)
        self.ppo, self.run_dir = ppo, run_dir
        self._record_code_state()
        self.bar = tqdm(total=total, desc="stage1", unit="it", disable=quiet)
        log = self.logger.log
        self._ended: list[torch.Tensor] = []  # (2, N) per step: see _track_episodes
        self.logger.process_env_step = self._track_episodes

        def log_quietly(*args, **kwargs):
            env.check_finite()  # before the iteration is logged or saved
            self._record_episodes()
            with contextlib.redirect_stdout(io.StringIO()):
                log(*args, **kwargs)
            buf = self.logger.rewbuffer
            lens = self.logger.lenbuffer
            self.bar.n = kwargs["it"] + 1
            self.bar.set_postfix(
                reward=f"{np.mean(buf):.2f}" if buf else "-",
                ep_len=f"{np.mean(lens):.0f}" if lens else "-",
            )
            self.bar.refresh()
            self._set_learning_rate(kwargs["it"] + 1)

        self.logger.log = log_quietly

    def _track_episodes(self, rewards, dones, extras, intrinsic_rewards=None) -> None:
        """rsl-rl's per-step bookkeeping (returns and lengths of ended episodes, the
        reward terms) without reading the device: rsl-rl's own reads the ended episodes
        back at every step; here they are kept on the device until ``_record_episodes``.
        No intrinsic rewards: this runner has no RND."""
        lg = self.logger
        if lg.writer is None:  # a process that does not log (rank > 0)
            return
        lg.ep_extras.append(extras["log"])
        lg.cur_reward_sum += rewards
        lg.cur_episode_length += 1
        ended = dones > 0
        self._ended.append(torch.stack([
            torch.where(ended, lg.cur_reward_sum, torch.nan),
            torch.where(ended, lg.cur_episode_length, torch.nan),
        ]))  # fmt: skip
        lg.cur_reward_sum.masked_fill_(ended, 0)
        lg.cur_episode_length.masked_fill_(ended, 0)

    def _record_episodes(self) -> None:
        """The episodes ended since the last call into rsl-rl's buffers (one device read)."""
        if not self._ended:
            return
        returns, lengths = torch.stack(self._ended, dim=1).flatten(1).cpu().numpy()
        self._ended.clear()
        ended = ~np.isnan(returns)
        self.logger.rewbuffer.extend(returns[ended].tolist())
        self.logger.lenbuffer.extend(lengths[ended].tolist())

    def _record_code_state(self) -> None:
        """rsl-rl writes the git state of rsl-rl itself (an installed package: it prints
        that it finds no repository and leaves an empty ``git/`` folder). Record this
        project's commit and diff instead, and nothing outside a git checkout."""
        import git

        try:
            git.Repo(Path(__file__).resolve().parent, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            self.logger._store_code_state = list  # no repository: no record, no folder
            return
        self.logger.git_status_repos = [str(Path(__file__).resolve())]

    def _set_learning_rate(self, iteration: int) -> None:
        lr = self.ppo.learning_rate_at(iteration)
        if lr is not None:
            self.alg.learning_rate = lr
            for group in self.alg.optimizer.param_groups:
                group["lr"] = lr

    def save(self, path: str, infos: dict | None = None) -> None:
        state = self.alg.save()
        state["iter"] = self.current_learning_iteration
        with atomic_path(self.run_dir / CHECKPOINT) as tmp:
            torch.save(state, tmp)
        keep = self.ppo.keep_every
        if keep and state["iter"] % keep == 0:
            with atomic_path(self.run_dir / f"checkpoint_{state['iter']}.pt") as tmp:
                torch.save(state, tmp)

    def resume(self) -> bool:
        path = self.run_dir / CHECKPOINT
        if not path.is_file():
            return False
        state = torch.load(path, weights_only=True, map_location="cpu")
        # A checkpoint kept without its optimizer state (to commit it small) resumes
        # from its weights with a fresh optimizer.
        weights_only = "optimizer_state_dict" not in state
        parts = {"actor": True, "critic": True, "iteration": True} if weights_only else None
        self.alg.load(state, parts, strict=True)
        self.current_learning_iteration = int(state["iter"]) + 1
        # The optimizer state carries the rate it was saved with; the config decides it.
        self._set_learning_rate(self.current_learning_iteration)
        return True


def load_clips(paths: list[str]) -> list[MotionClip]:
    from robots.clip import load_clip

    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.npz")) if p.is_dir() else [p]
    if not files:
        raise FileNotFoundError(f"no motion clips in {paths}")
    return [load_clip(f) for f in files]


def train(cfg: Stage1Config, run_dir: Path, clips: list[MotionClip], quiet: bool = False) -> Runner:
    """Train (or resume) until ``cfg.iterations`` PPO iterations are done."""
    cfg = replace(cfg, env=replace(cfg.env, backend=cfg.backend, device=cfg.device))
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = run_dir / CONFIG
    if saved.is_file():
        previous = json.loads(saved.read_text())
        now = json.loads(json.dumps(asdict(cfg.env)))  # tuples -> lists, as saved
        check_resumable(run_dir, "environment config", {"env": without_placement(previous["env"])},
                        {"env": without_placement(now)})  # fmt: skip
    write_text(saved, json.dumps(asdict(cfg), indent=2))
    torch.manual_seed(cfg.env.seed)
    # under torchrun (rsl-rl's multi-GPU training, NCCL) each process simulates on its own
    # GPU with its own seed
    rank = int(os.environ.get("RANK", "0"))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not cfg.device.startswith("cuda"):
        raise ValueError("Stage 1 under torchrun trains one GPU per process (rsl-rl's "
                         "multi-GPU training, NCCL): --backend warp --device cuda")  # fmt: skip
    env_cfg = replace(cfg.env, device=physics_device(cfg.env.device), seed=cfg.env.seed + rank)
    env = TorchVecEnv(HoiEnv(clips, env_cfg, on_device=True))
    runner = Runner(env, cfg.ppo, run_dir, cfg.iterations, quiet)
    runner.resume()
    remaining = cfg.iterations - runner.current_learning_iteration
    if remaining > 0:
        runner.learn(remaining)
    runner.bar.close()
    return runner
