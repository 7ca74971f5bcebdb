"""Stage 3: RL in-betweening fine-tuning of the Stage 2 latent policy with prior
preservation, and the get-up skill (InterPrior).

Each process runs two groups of simulations (the environment split):

- ``1 - preserve_share`` of them play the in-betweening task (``training.inbetween``):
  PPO on the whole deployable path (prior + decoder) with Gaussian action noise of a
  learned standard deviation, sparse goal-success reward, energy and grasp terms, a
  termination penalty and, while getting up, upright and centre-of-mass rewards;
- ``preserve_share`` of them keep running the Stage 2 distillation (the student in
  control, the Stage 1 expert labelling), whose loss is added with ``preserve_weight``
  (prior preservation). Their goal masks are only the trajectory-conditioned patterns
  (``preserve_patterns``: the ones with preview tokens), which goal episodes never
  show: those inputs keep their distilled meaning (InterPrior protects them the same
  way).

The critic (an MLP on the normalized proprioception, goal tokens and task flags) warms
up alone for ``critic_warmup_iters`` iterations. The KL between the rollout's action
distribution and the current one is logged at every minibatch. Input normalization
stays as Stage 2 left it. Under ``torchrun`` every process simulates its own groups
(seed + rank) and gradients are averaged over processes, so parameters stay identical
on all ranks; rank 0 writes the checkpoint and the logs.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from array_api_compat import device
from rsl_rl.modules import MLP
from torch import nn

from contract.goals.features import goal_distance, goal_residual
from contract.goals.masks import TRAINING_PROBS
from contract.goals.tokens import Goals
from contract.observations import proprioception
from robots.atomic import atomic_path, write_text
from training import distributed
from training import rewards as R
from training.backend import BackendName
from training.evaluate import load_stage2
from training.expert import expert_env_config
from training.inbetween import InbetweenConfig, InbetweenEnv, inbetween_masks
from training.models.losses import stage2_loss
from training.ppo import gae, gaussian_kl, gaussian_log_prob, surrogate_loss, value_loss
from training.random_source import make_random
from training.resume import check_resumable
from training.stage1 import load_clips
from training.stage2 import CHECKPOINT, Stage2, build_policy, keep

CONFIG = "config.json"
STATS = ("successes", "goals", "episodes", "falls", "fallen_starts", "stood_up")


@dataclass(frozen=True)
class Stage3Rewards:
    success: float = 10.0  # r_succ per goal reached within xi
    energy: float = -1e-4  # per W of mechanical power
    grasp: float = 0.5
    termination: float = -5.0
    upright: float = 0.5  # get-up only
    com_height: float = 0.5  # get-up only
    standing_com: float = 0.7  # m: the robot's CoM height standing (com_height's scale)


@dataclass(frozen=True)
class Stage3Config:
    init: str = ""
    """The Stage 2 run directory to start from."""
    iterations: int = 500
    num_envs: int = 64
    """Simulations per process (both groups together)."""
    threads: int = 0
    """Physics threads per simulation group (0: all cores)."""
    backend: BackendName = "batch"
    """Physics: batch (MuJoCo threads on the CPU) or warp (MuJoCo Warp)."""
    device: str = "cpu"
    """The warp backend's device: cuda, cuda:N or cpu."""
    preserve_share: float = 0.25
    """Share of the simulations that keep the Stage 2 distillation loss."""
    preserve_weight: float = 1.0
    """Weight of that loss beside the PPO loss."""
    expert: str = ""
    """The preservation group's labeller, a Stage 1 run directory or ONNX policy ("": the
    Stage 2 run's expert); the evaluation compares against it too."""
    preserve_patterns: tuple[str, ...] = (
        "full", "trajectory", "snapshot+trajectory", "contact+trajectory",
    )  # fmt: skip
    steps_per_iter: int = 24
    epochs: int = 4
    mini_batches: int = 4
    learning_rate: float = 1e-5
    max_grad_norm: float = 1.0
    gamma: float = 0.99
    lam: float = 0.95
    clip: float = 0.2
    value_coef: float = 0.5
    init_std: float = 0.2
    """Action noise at the start (action units)."""
    critic_hidden: tuple[int, ...] = (512, 256)
    critic_warmup_iters: int = 10
    """Iterations that train the critic alone before the policy moves."""
    save_interval: int = 10
    seed: int = 0
    task: InbetweenConfig = field(default_factory=InbetweenConfig)
    rewards: Stage3Rewards = field(default_factory=Stage3Rewards)


def split(cfg: Stage3Config) -> tuple[int, int]:
    """(in-betweening simulations, prior-preservation simulations) of one process."""
    keep = round(cfg.num_envs * cfg.preserve_share)
    if keep >= cfg.num_envs or (cfg.preserve_share > 0 and keep == 0):
        raise ValueError(
            f"num_envs {cfg.num_envs} with preserve_share {cfg.preserve_share} leaves a group "
            "empty; use more simulations"
        )
    return cfg.num_envs - keep, keep


def preserve_probs(patterns: tuple[str, ...], probs: dict[str, float] = TRAINING_PROBS):
    """The Stage 2 pattern mix ``probs`` restricted to ``patterns``."""
    kept = {k: v for k, v in probs.items() if k in patterns}
    unknown = set(patterns) - set(kept)
    if unknown or not kept:
        raise ValueError(f"preserve_patterns {sorted(unknown)} are not training patterns")
    return kept


class Critic(nn.Module):
    def __init__(self, policy, hidden: tuple[int, ...]):
        super().__init__()
        s = policy.sizes
        self.net = MLP(s.obs + s.goals * s.token + policy.cfg.tasks, 1, hidden)

    def forward(self, policy, history, tokens, task) -> torch.Tensor:
        with torch.no_grad():  # the policy's frozen normalizers
            x = [policy.obs_norm(history[:, -1]), policy.token_norm(tokens).flatten(1)]
        return self.net(torch.cat([*x, task], dim=-1)).squeeze(-1)


class Stage3:
    """The two simulation groups, the latent policy, critic and action noise of one
    process."""

    def __init__(self, cfg: Stage3Config, rank: int = 0):
        self.cfg = cfg
        self.s2 = load_stage2(Path(cfg.init), cfg.expert)
        n_rl, n_keep = split(cfg)
        clips = load_clips(list(self.s2.motions))
        seed = cfg.seed + 1000 * rank
        kept = preserve_probs(cfg.preserve_patterns, self.s2.pattern_probs)
        s2 = replace(self.s2, num_envs=max(n_keep, 1), threads=cfg.threads, seed=seed,
                     backend=cfg.backend, device=cfg.device, expert_share_start=0.0,
                     expert_share_end=0.0, steps_per_iter=cfg.steps_per_iter,
                     pattern_probs=kept)  # fmt: skip
        self.distill = Stage2(s2, clips) if n_keep else None
        # The expert's environment, with the in-betweening task's own starts.
        seconds = max(c.duration for c in clips)
        env_cfg = replace(_expert_env(s2, clips), num_envs=n_rl, num_threads=cfg.threads,
                          backend=cfg.backend, device=cfg.device, psi_prob=0.0, seed=seed,
                          episode_seconds=seconds)  # fmt: skip
        # on the warp backend both groups compute on the simulation's device (torch)
        self.env = env = InbetweenEnv(clips, env_cfg, cfg.task, on_device=True)
        self.xp, like = env.xp, env.last_action
        self.device = env.frame.device if env.xp is not np else torch.device("cpu")
        self.rng = make_random(seed, like)
        torch.manual_seed(seed)
        self.policy = self.distill.policy if self.distill else build_policy(s2, env)
        self.policy.to(self.device)
        checkpoint = Path(cfg.init) / CHECKPOINT
        self.policy.load_state_dict(
            torch.load(checkpoint, weights_only=True, map_location="cpu")["policy"]
        )
        self.policy.eval()
        self.critic = Critic(self.policy, cfg.critic_hidden).to(self.device)
        actions = self.policy.sizes.actions
        self.log_std = nn.Parameter(
            torch.full((actions,), math.log(cfg.init_std), device=self.device)
        )
        self.optimizer = torch.optim.Adam(self.parameters(), lr=cfg.learning_rate)
        distributed.broadcast_parameters(self.parameters())
        hz = env_cfg.control_hz
        self.goals = Goals(n_rl, self.s2.goals, hz, self.rng, sampler=inbetween_masks, like=like)
        self.obs = env.observation()
        everyone = self.xp.arange(n_rl, device=device(like))
        self.goals.reset(everyone, env.frame, self._last(), proprioception(self.obs))
        self.iteration = 0
        self.stats = dict.fromkeys(STATS, 0.0)

    def parameters(self) -> list[nn.Parameter]:
        return [*self.policy.parameters(), *self.critic.parameters(), self.log_std]

    def _last(self) -> np.ndarray:
        return self.env.refs.lengths[self.env.clip] - 1

    def _inputs(self, state):
        tokens, visible, _ = self.goals.tokens(state, self.env.refs, self.env.clip, self.env.frame)
        return (keep(self.goals.history), keep(tokens), keep(visible, torch.bool),
                keep(self.env.getup[:, None]))  # fmt: skip

    def rewards(self, info: dict, terminated: np.ndarray, clip: np.ndarray, due: np.ndarray,
                snapshot: np.ndarray) -> tuple[np.ndarray, dict]:  # fmt: skip
        """This step's reward (N,) and its terms, from the state before the resets."""
        w, env, s = self.cfg.rewards, self.env, info["state"]
        goal = goal_residual(s, *env.refs.state(clip, snapshot))[:, None]
        distance = goal_distance(goal, self.goals.mask[:, -1:])
        getup = info["getup"]
        terms = {
            "success": R.goal_success(distance, due & ~getup, self.cfg.task.success_distance),
            "energy": info["terms"]["energy"],
            "grasp": info["terms"]["grasp"] * ~getup,
            "termination": self.xp.astype(terminated, s.root_pos.dtype),
            "upright": R.upright(s) * getup,
            "com_height": R.com_height(info["robot_com"][:, 2], w.standing_com) * getup,
        }
        return sum(getattr(w, k) * v for k, v in terms.items()), terms

    def rollout(self) -> dict[str, torch.Tensor]:
        """``steps_per_iter`` in-betweening steps with exploration: the PPO batch."""
        env, goals = self.env, self.goals
        keys = ("history", "tokens", "visible", "task", "action", "mean", "log_prob", "value",
                "reward", "done")  # fmt: skip
        steps: dict[str, list] = {k: [] for k in keys}
        std = self.log_std.detach().exp()
        for _ in range(self.cfg.steps_per_iter):
            state = env.index.from_backend(env.backend)
            history, tokens, visible, task = self._inputs(state)
            with torch.inference_mode():
                mean = self.policy.act(history, tokens, visible, task=task)
                value = self.critic(self.policy, history, tokens, task)
                action = mean + std * torch.randn_like(mean)
            log_prob = gaussian_log_prob(action, mean, self.log_std.detach())
            xp = self.xp
            clip, snapshot = xp.asarray(env.clip, copy=True), xp.asarray(goals.snapshot, copy=True)
            due = env.frame + 1 >= snapshot
            self.obs, _, terminated, truncated, info = env.step(action)  # taken as its arrays
            reward, terms = self.rewards(info, terminated, clip, due, snapshot)
            host = xp is np  # the environment computes in numpy on the host
            bootstrap = self.cfg.gamma * (value.numpy() if host else value) * truncated
            reward = reward + bootstrap  # timeouts
            done = terminated | truncated
            self._count(terms, due & ~info["getup"], done, info)
            for k, v in (("history", history), ("tokens", tokens), ("visible", visible),
                         ("task", task), ("action", action), ("mean", mean),
                         ("log_prob", log_prob), ("value", value), ("reward", keep(reward)),
                         ("done", keep(done, torch.bool))):  # fmt: skip
                steps[k].append(v)
            ids = info["reset_ids"]
            goals.advance(env.frame, self._last(), proprioception(self.obs))
            goals.reset(ids, env.frame[ids], self._last()[ids], proprioception(self.obs))
        batch = {k: torch.stack(v) for k, v in steps.items()}
        batch["log_std"] = self.log_std.detach().clone().expand(*batch["mean"].shape)
        state = env.index.from_backend(env.backend)
        history, tokens, _, task = self._inputs(state)
        with torch.inference_mode():
            last = self.critic(self.policy, history, tokens, task)
        batch["advantage"], batch["return"] = gae(batch["reward"], batch["value"],
                                                  batch["done"], last, self.cfg.gamma,
                                                  self.cfg.lam)  # fmt: skip
        return batch

    def _count(self, terms, due, done, info) -> None:
        """Training statistics of this step (sums where the environment computes: no
        host read per step; ``train`` reads them once per iteration)."""
        st, xp = self.stats, self.xp
        st["successes"] += xp.sum(terms["success"])
        st["goals"] += xp.sum(due)
        st["episodes"] += xp.sum(done)
        st["falls"] += xp.sum(info["causes"]["fall"])
        for k in ("fallen_starts", "stood_up"):
            st[k] += self.env.counts[k]
            self.env.counts[k] = 0

    def learn(self, batch: dict, preserve: dict | None) -> dict[str, float]:
        """PPO epochs on the in-betweening batch, each minibatch with the preservation
        loss on the matching share of the distillation batch (the critic alone while it
        warms up)."""
        cfg, p = self.cfg, self.policy
        warm = self.iteration < cfg.critic_warmup_iters
        t, n = batch["reward"].shape
        logs: dict[str, list[float]] = {}
        params = self.parameters()
        for _ in range(cfg.epochs):
            chunks = torch.randperm(n, device=self.device).chunk(cfg.mini_batches)
            keeps = [None]
            if preserve:  # it may have fewer simulations than minibatches: cycled below
                k = preserve["noise"].shape[1]
                keeps = torch.randperm(k, device=self.device).chunk(cfg.mini_batches)
            for i, envs in enumerate(chunks):
                keep = keeps[i % len(keeps)]
                mb = {k: v[:, envs].flatten(0, 1) for k, v in batch.items()}
                mean = p.act(mb["history"], mb["tokens"], mb["visible"], task=mb["task"])
                log_prob = gaussian_log_prob(mb["action"], mean, self.log_std)
                value = self.critic(p, mb["history"], mb["tokens"], mb["task"])
                terms = {"value": value_loss(value, mb["return"])}
                loss = cfg.value_coef * terms["value"]
                if not warm:
                    terms["surrogate"] = surrogate_loss(log_prob, mb["log_prob"],
                                                        mb["advantage"], cfg.clip)  # fmt: skip
                    loss = loss + terms["surrogate"]
                    if keep is not None:
                        kb = {k: v[:, keep].flatten(0, 1) for k, v in preserve.items()}
                        out = p(kb["history"], kb["tokens"], kb["visible"], kb["future"],
                                kb["noise"])  # fmt: skip
                        terms["preserve"], _ = stage2_loss(out, kb, self.s2.loss, t)
                        loss = loss + cfg.preserve_weight * terms["preserve"]
                    terms["kl"] = self._kl(mb, mean.detach())
                self.optimizer.zero_grad()
                loss.backward()
                distributed.average_gradients(params)
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                self.optimizer.step()
                for k, v in terms.items():
                    logs.setdefault(k, []).append(float(torch.as_tensor(v).detach()))
        out = {k: float(np.mean(v)) for k, v in logs.items()}
        out["action_std"] = float(self.log_std.detach().exp().mean())
        out["learning_rate"] = self.optimizer.param_groups[0]["lr"]
        return out

    def _kl(self, mb: dict, mean: torch.Tensor) -> float:
        """KL between the rollout's action distribution and the current one (``mean``,
        before this minibatch's step), averaged over the processes."""
        kl = gaussian_kl(mb["mean"], mb["log_std"], mean, self.log_std.detach())
        return distributed.mean_scalar(float(kl))

    def iterate(self) -> dict[str, float]:
        """One rollout of both groups and one update."""
        batch = self.rollout()
        preserve = self.distill.rollout() if self.distill else None
        logs = self.learn(batch, preserve)
        self.iteration += 1
        logs["reward"] = float(batch["reward"].mean())
        return logs

    def state_dict(self) -> dict:
        return {"policy": self.policy.state_dict(), "critic": self.critic.state_dict(),
                "log_std": self.log_std.detach().clone(),
                "optimizer": self.optimizer.state_dict(), "iteration": self.iteration}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.critic.load_state_dict(state["critic"])
        self.log_std.data.copy_(state["log_std"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])


def _expert_env(s2, clips):
    return expert_env_config(Path(s2.expert), s2.num_envs, clips, s2.randomize, s2.physics)[0]


def stage3_config_dict(cfg: Stage3Config) -> dict:
    """The saved config: Stage 3's own settings and the Stage 2 run's (evaluation and
    export read the policy's layout from it)."""
    return {**json.loads(json.dumps(asdict(cfg))), "stage2": json.loads(
        (Path(cfg.init) / CONFIG).read_text())}  # fmt: skip


def train(cfg: Stage3Config, run_dir: Path, quiet: bool = False) -> Stage3:
    """Fine-tune (or resume) until ``cfg.iterations`` iterations are done; under
    ``torchrun`` on every process."""
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    # on the warp backend the models sit beside the environment on its device
    rank, world = distributed.setup(cfg.device if cfg.backend == "warp" else "cpu")
    main = rank == 0
    run_dir = Path(run_dir)
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        saved = run_dir / CONFIG
        previous = json.loads(saved.read_text()) if saved.is_file() else None
        if previous:
            check_resumable(run_dir, "Stage 2 run or expert",
                            {"init": previous["init"], "expert": previous.get("expert", "")},
                            {"init": cfg.init, "expert": cfg.expert})  # fmt: skip
        write_text(saved, json.dumps(stage3_config_dict(cfg), indent=2))
    run = Stage3(replace(cfg, device=distributed.physics_device(cfg.device)), rank)
    if (run_dir / CHECKPOINT).is_file():
        run.load_state_dict(torch.load(run_dir / CHECKPOINT, weights_only=True, map_location="cpu"))
    writer = SummaryWriter(str(run_dir)) if main else None
    bar = tqdm(total=cfg.iterations, initial=run.iteration, desc=f"stage3 x{world}",
               unit="it", disable=quiet or not main)  # fmt: skip
    while run.iteration < cfg.iterations:
        logs = run.iterate()
        st = {k: distributed.mean_scalar(float(v)) for k, v in run.stats.items()}
        logs["goal_success"] = st["successes"] / max(st["goals"], 1.0)
        logs["fall_rate"] = st["falls"] / max(st["episodes"], 1.0)
        logs["getup_rate"] = st["stood_up"] / max(st["fallen_starts"], 1.0)
        run.stats = dict.fromkeys(run.stats, 0.0)
        if main:
            for k, v in logs.items():
                writer.add_scalar(f"stage3/{k}", v, run.iteration)
            bar.update(1)
            bar.set_postfix(reward=f"{logs['reward']:.2f}", success=f"{logs['goal_success']:.2f}",
                            falls=f"{logs['fall_rate']:.2f}")  # fmt: skip
            if run.iteration % cfg.save_interval == 0 or run.iteration == cfg.iterations:
                with atomic_path(run_dir / CHECKPOINT) as tmp:
                    torch.save(run.state_dict(), tmp)
    bar.close()
    if writer:
        writer.close()
    return run
