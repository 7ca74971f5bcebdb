"""Stage 1: the full-reference tracking expert (InterMimic+), PPO from rsl-rl-lib.

The environment is wrapped as an rsl-rl ``VecEnv`` (torch tensors in, out). Checkpoints
go into the run folder (``training.runs``) every ``saving.interval`` iterations and when
``minutes`` are up; starting again with the same folder resumes from the last one and
runs up to the configured total. TensorBoard logs go to the run folder.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from rsl_rl.env import VecEnv
from rsl_rl.runners import OnPolicyRunner
from tensordict import TensorDict
from tqdm import tqdm

from robots.clip import MotionClip
from training import runs
from training.configs import PpoConfig, Stage1Config, environment
from training.distributed import physics_device
from training.env import HoiEnv
from training.privileged import critic_observation, widen_critic


class TorchVecEnv(VecEnv):
    """rsl-rl view of :class:`HoiEnv`: on the environment's device when it computes in
    torch, else numpy converted on the CPU. The critic sees the policy's observation,
    or with ``privileged`` also the truth behind it (``training.privileged``)."""

    def __init__(self, env: HoiEnv, privileged: bool = False):
        self.env, self.privileged = env, privileged
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
        critic = self._tensor(critic_observation(self.env, obs)).float() if self.privileged else t
        return TensorDict({"policy": t, "critic": critic}, batch_size=[self.num_envs])

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


def rsl_config(cfg: PpoConfig, save_interval: int) -> dict:
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
            "learning_rate": cfg.learning_rate.start,
            "entropy_coef": cfg.entropy_coef,
            "gamma": cfg.gamma,
            "lam": cfg.lam,
            "schedule": "adaptive" if cfg.learning_rate.adaptive else "fixed",
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
        "save_interval": save_interval,
        "check_for_nan": False,  # TorchVecEnv.check_finite, once per iteration
        "logger": "tensorboard",
    }


class Stop(Exception):
    """The run's ``minutes`` are up (raised after an iteration, caught by ``train``)."""


class Runner(OnPolicyRunner):
    """OnPolicyRunner with the run folder's checkpoints and curve, weights-only loading,
    a deadline and a progress bar."""

    def __init__(self, env: TorchVecEnv, cfg: Stage1Config, run_dir: Path, quiet: bool = False,
                 deadline: runs.Deadline | None = None):  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()):
            super().__init__(env, rsl_config(cfg.ppo, cfg.saving.interval), log_dir=str(run_dir),
                             device=env.device)  # fmt: skip
        self.stage, self.run_dir = cfg, run_dir
        self.curve = runs.Curve()
        self.deadline = deadline or runs.Deadline(None)
        self._record_code_state()
        self.bar = tqdm(total=cfg.iterations, desc="stage1", unit="it", disable=quiet)
        log = self.logger.log
        self._ended: list[torch.Tensor] = []  # (2, N) per step: see _track_episodes
        self.logger.process_env_step = self._track_episodes

        def log_quietly(*args, **kwargs):
            env.check_finite()  # before the iteration is logged or saved
            terms = self._record_episodes()
            it = kwargs["it"]
            seconds = kwargs["collect_time"] + kwargs["learn_time"]
            self._add_curve(it, kwargs["loss_dict"], kwargs["learning_rate"], terms, seconds)
            with contextlib.redirect_stdout(io.StringIO()):
                log(*args, **kwargs)
            buf = self.logger.rewbuffer
            lens = self.logger.lenbuffer
            self.bar.n = it + 1
            self.bar.set_postfix(
                reward=f"{np.mean(buf):.2f}" if buf else "-",
                ep_len=f"{np.mean(lens):.0f}" if lens else "-",
            )
            self.bar.refresh()
            self._set_learning_rate(it + 1)
            if self.deadline.up() and it + 1 < self.stage.iterations:
                raise Stop

        self.logger.log = log_quietly

    def _add_curve(self, it: int, losses: dict, learning_rate: float, terms: dict,
                   seconds: float) -> None:  # fmt: skip
        """This iteration's point of the run's curve (``seconds``: its wall time, which
        the cost of a run adds up)."""
        lg = self.logger
        if lg.writer is None:  # a process that does not log (rank > 0)
            return
        scalars = {f"loss/{k}": float(v) for k, v in losses.items()}
        scalars["learning_rate"] = learning_rate
        scalars["time/iteration_s"] = seconds
        scalars.update(terms)
        if lg.rewbuffer:
            scalars["Train/mean_reward"] = float(np.mean(lg.rewbuffer))
            scalars["Train/mean_episode_length"] = float(np.mean(lg.lenbuffer))
        self.curve.add(it, scalars)

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

    def _record_episodes(self) -> dict[str, float]:
        """The episodes ended since the last call into rsl-rl's buffers, and the
        iteration's mean reward terms for the curve (before rsl-rl's log consumes them):
        one device read."""
        extras = self.logger.ep_extras
        if not self._ended:
            return {}
        names = list(extras[0])
        means = torch.stack([torch.stack([e[k] for e in extras]).mean() for k in names])
        episodes = torch.stack(self._ended, dim=1).flatten()
        self._ended.clear()
        read = torch.cat([episodes, means.to(episodes.dtype)]).cpu().numpy()
        returns, lengths = read[: episodes.numel()].reshape(2, -1)
        ended = ~np.isnan(returns)
        self.logger.rewbuffer.extend(returns[ended].tolist())
        self.logger.lenbuffer.extend(lengths[ended].tolist())
        return dict(zip(names, read[episodes.numel() :].tolist(), strict=True))

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
        schedule = self.stage.ppo.learning_rate
        if schedule.adaptive:
            return
        self.alg.learning_rate = schedule.apply(
            self.alg.optimizer, iteration, self.stage.iterations
        )

    def save(self, path: str | None = None, infos: dict | None = None) -> None:
        state = self.alg.save()
        state["iter"] = self.current_learning_iteration
        state["curve"] = self.curve.state()
        runs.save_checkpoint(self.run_dir, state, state["iter"], self.stage.saving)

    def load(self, state: dict) -> None:
        """Continue from ``state`` (a checkpoint of this or another run): weights, the
        optimizer state if it has one (a checkpoint kept without it, to commit it small,
        gets a fresh optimizer), the iteration and the curve."""
        width = self.alg.critic.state_dict()["mlp.0.weight"].shape[1]
        if state["critic_state_dict"]["mlp.0.weight"].shape[1] != width:
            # a critic on the policy's observation into a privileged one: a fresh
            # optimizer, as its moments have the old shapes
            state = {k: v for k, v in state.items() if k != "optimizer_state_dict"}
            state["critic_state_dict"] = widen_critic(state["critic_state_dict"], width)
        weights_only = "optimizer_state_dict" not in state
        parts = {"actor": True, "critic": True, "iteration": True} if weights_only else None
        self.alg.load(state, parts, strict=True)
        self.current_learning_iteration = int(state["iter"]) + 1
        self.curve = runs.Curve(state.get("curve"), upto=int(state["iter"]))
        # The optimizer state carries the rate it was saved with; the config decides it.
        self._set_learning_rate(self.current_learning_iteration)


def trained_policy(run_dir: Path, env: HoiEnv, state: dict | None = None):
    """The rsl-rl view of ``env`` and a Stage 1 run's deterministic policy on it (with
    the weights of ``state``, a loaded checkpoint; default the run's latest)."""
    _, cfg = runs.read(run_dir)
    vec = TorchVecEnv(env, cfg.ppo.privileged_critic)
    runner = Runner(vec, cfg, Path(run_dir), quiet=True)
    runner.load(state if state is not None else runs.load_checkpoint(run_dir))
    return vec, runner.get_inference_policy()


def train(cfg: Stage1Config, run_dir: Path, clips: list[MotionClip] | None = None,
          quiet: bool = False, minutes: float | None = None) -> Runner:  # fmt: skip
    """Train (or resume) until ``cfg.iterations`` PPO iterations are done, or until
    ``minutes`` are up (checkpoint written)."""
    run_dir, cfg = Path(run_dir), runs.recorded(cfg)
    runs.write(run_dir, 1, cfg)
    clips = clips if clips is not None else runs.load_clips(cfg.motions)
    torch.manual_seed(cfg.env.seed)
    # under torchrun (rsl-rl's multi-GPU training, NCCL) each process simulates on its own
    # GPU with its own seed
    rank = int(os.environ.get("RANK", "0"))
    placement = cfg.placement
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not placement.device.startswith("cuda"):
        raise ValueError("Stage 1 under torchrun trains one GPU per process (rsl-rl's "
                         "multi-GPU training, NCCL): --placement.backend warp "
                         "--placement.device cuda")  # fmt: skip
    env_cfg = environment(cfg.env, replace(placement, device=physics_device(placement.device)),
                          seed=cfg.env.seed + rank)  # fmt: skip
    env = TorchVecEnv(HoiEnv(clips, env_cfg, on_device=True), cfg.ppo.privileged_critic)
    runner = Runner(env, cfg, run_dir, quiet, runs.Deadline(minutes))
    if (run_dir / runs.CHECKPOINT).is_file():
        runner.load(runs.load_checkpoint(run_dir))
    elif cfg.init:
        runner.load(runs.load_checkpoint(cfg.init))
    remaining = cfg.iterations - runner.current_learning_iteration
    if remaining > 0:
        try:
            runner.learn(remaining)
        except Stop:
            runner.save()
            runner.logger.stop_logging_writer()
    runner.bar.close()
    return runner
