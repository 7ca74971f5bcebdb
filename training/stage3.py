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

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from rsl_rl.modules import MLP
from torch import nn

from contract.goals.command import GoalCommand
from contract.goals.features import goal_distance, goal_residual
from contract.goals.masks import TRAINING_PROBS
from training import distributed, runs
from training import rewards as R
from training.configs import Stage3Config, environment
from training.expert import expert_env_config
from training.goal_env import GoalEnv
from training.inbetween import InbetweenEnv, inbetween_masks
from training.models.losses import stage2_loss
from training.ppo import gae, gaussian_kl, gaussian_log_prob, surrogate_loss, value_loss
from training.random_source import make_random
from training.stage2 import Stage2, build_policy, copied

STATS = ("successes", "goals", "episodes", "falls", "fallen_starts", "stood_up")


def split(cfg: Stage3Config) -> tuple[int, int]:
    """(in-betweening simulations, prior-preservation simulations) of one process."""
    n = cfg.placement.num_envs
    preserved = round(n * cfg.preserve_share)
    if preserved >= n or (cfg.preserve_share > 0 and preserved == 0):
        raise ValueError(
            f"num_envs {n} with preserve_share {cfg.preserve_share} leaves a group "
            "empty; use more simulations"
        )
    return n - preserved, preserved


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
        self.s2, _ = runs.latent_config(cfg.init, cfg.expert)
        n_rl, n_preserve = split(cfg)
        clips = runs.load_clips(self.s2.motions)
        seed = cfg.env.seed + 1000 * rank
        overrides = replace(cfg.env.over(self.s2.env), seed=seed)
        kept = preserve_probs(cfg.preserve_patterns, self.s2.pattern_probs)
        s2 = replace(self.s2, placement=replace(cfg.placement, num_envs=max(n_preserve, 1)),
                     env=overrides, expert_share_start=0.0, expert_share_end=0.0,
                     steps_per_iter=cfg.steps_per_iter, pattern_probs=kept)  # fmt: skip
        self.distill = Stage2(s2, clips) if n_preserve else None
        # The expert's environment, with the in-betweening task's own starts.
        seconds = max(c.duration for c in clips)
        expert_env = expert_env_config(runs.resolved(s2.expert), clips)[0]
        env_cfg = environment(expert_env, replace(cfg.placement, num_envs=n_rl), overrides,
                              psi_prob=0.0, episode_seconds=seconds)  # fmt: skip
        # on the warp backend both groups compute on the simulation's device (torch)
        self.env = env = InbetweenEnv(clips, env_cfg, cfg.task, on_device=True)
        self.xp, like = env.xp, env.last_action
        self.device = env.frame.device if env.xp is not np else torch.device("cpu")
        self.rng = make_random(seed, like)
        torch.manual_seed(seed)
        self.policy = self.distill.policy if self.distill else build_policy(s2, env)
        self.policy.to(self.device)
        self.policy.load_state_dict(runs.load_checkpoint(cfg.init)["policy"])
        self.policy.eval()
        self.critic = Critic(self.policy, cfg.critic_hidden).to(self.device)
        actions = self.policy.sizes.actions
        self.log_std = nn.Parameter(
            torch.full((actions,), math.log(cfg.init_std), device=self.device)
        )
        self.optimizer = torch.optim.Adam(self.parameters(), lr=cfg.learning_rate.start)
        distributed.broadcast_parameters(self.parameters())
        hz = env_cfg.control_hz
        self.goals = GoalCommand(n_rl, self.s2.goals, hz, self.rng, sampler=inbetween_masks,
                                 like=like)  # fmt: skip
        self.sim = GoalEnv(env, self.goals)
        self.iteration = 0
        self.curve = runs.Curve()
        self.stats = dict.fromkeys(STATS, 0.0)

    def parameters(self) -> list[nn.Parameter]:
        return [*self.policy.parameters(), *self.critic.parameters(), self.log_std]

    @property
    def obs(self):
        """The in-betweening simulations' observations now."""
        return self.sim.obs

    def _inputs(self, state):
        tokens, visible, _ = self.sim.inputs(state)
        return (copied(self.goals.history), copied(tokens), copied(visible, torch.bool),
                copied(self.env.getup[:, None]))  # fmt: skip

    def rewards(self, info: dict, terminated: np.ndarray, clip: np.ndarray, due: np.ndarray,
                snapshot: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, dict]:  # fmt: skip
        """This step's reward (N,) and its terms, from the state before the resets, for the
        goals (``clip``, ``snapshot`` frame, snapshot ``mask``) the step was taken for."""
        w, env, s = self.cfg.rewards, self.env, info["state"]
        goal = goal_residual(s, *env.refs.state(clip, snapshot))[:, None]
        distance = goal_distance(goal, mask)
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
            mask = xp.asarray(goals.mask[:, -1:], copy=True)
            due = env.frame + 1 >= snapshot
            _, _, terminated, truncated, info = self.sim.step(action)  # taken as its arrays
            reward, terms = self.rewards(info, terminated, clip, due, snapshot, mask)
            host = xp is np  # the environment computes in numpy on the host
            bootstrap = self.cfg.gamma * (value.numpy() if host else value) * truncated
            reward = reward + bootstrap  # timeouts
            done = terminated | truncated
            self._count(terms, due & ~info["getup"], done, info)
            for k, v in (("history", history), ("tokens", tokens), ("visible", visible),
                         ("task", task), ("action", action), ("mean", mean),
                         ("log_prob", log_prob), ("value", value), ("reward", copied(reward)),
                         ("done", copied(done, torch.bool))):  # fmt: skip
                steps[k].append(v)
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
            preserved = [None]
            if preserve:  # it may have fewer simulations than minibatches: cycled below
                k = preserve["noise"].shape[1]
                preserved = torch.randperm(k, device=self.device).chunk(cfg.mini_batches)
            for i, envs in enumerate(chunks):
                ours = preserved[i % len(preserved)]
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
                    if ours is not None:
                        kb = {k: v[:, ours].flatten(0, 1) for k, v in preserve.items()}
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
                "optimizer": self.optimizer.state_dict(), "iteration": self.iteration,
                "curve": self.curve.state()}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.critic.load_state_dict(state["critic"])
        self.log_std.data.copy_(state["log_std"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.curve = runs.Curve(state.get("curve"), upto=self.iteration)


def train(cfg: Stage3Config, run_dir: Path, quiet: bool = False,
          minutes: float | None = None) -> Stage3:  # fmt: skip
    """Fine-tune (or resume) until ``cfg.iterations`` iterations are done or ``minutes``
    are up; under ``torchrun`` on every process."""
    # on the warp backend the models sit beside the environment on its device
    placement = cfg.placement
    rank, _ = distributed.setup(placement.device if placement.backend == "warp" else "cpu")
    main = rank == 0
    run_dir, cfg = Path(run_dir), runs.recorded(cfg)
    if main:
        runs.write(run_dir, 3, cfg, parent=runs.record(runs.folder(cfg.init)))
    device = distributed.physics_device(placement.device)
    run = Stage3(replace(cfg, placement=replace(placement, device=device)), rank)
    if (run_dir / runs.CHECKPOINT).is_file():
        run.load_state_dict(runs.load_checkpoint(run_dir))

    def iterate() -> dict[str, float]:
        logs = run.iterate()
        st = {k: distributed.mean_scalar(float(v)) for k, v in run.stats.items()}
        run.stats = dict.fromkeys(run.stats, 0.0)
        return {**logs, "goal_success": st["successes"] / max(st["goals"], 1.0),
                "fall_rate": st["falls"] / max(st["episodes"], 1.0),
                "getup_rate": st["stood_up"] / max(st["fallen_starts"], 1.0)}  # fmt: skip

    runs.train_loop(run, cfg, run_dir, "stage3", iterate, ("reward", "goal_success", "fall_rate"),
                    main, quiet, minutes)  # fmt: skip
    return run
