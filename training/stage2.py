"""Stage 2: distil the Stage 1 expert into the masked goal-conditioned variational
policy with online DAgger (InterPrior; MaskedMimic's loop).

Every iteration runs ``steps_per_iter`` control steps in all simulations. Each step the
expert labels the state with its action; the action executed is the expert's with
probability ``expert_share`` (1 -> 0 linearly over ``expert_decay_iters``), else the
student's own, taken as it is deployed (prior mean, no encoder), so the student learns
on the states its deployed form visits; ``action_noise`` perturbs the executed action
(DART). Then ``epochs`` passes of minibatch Adam on the loss of
``training.models.losses`` on the new rollout (minibatches of whole environments, so
that adjacent steps stay together for the temporal term). Checkpoints go into the run
folder (``training.runs``); a run resumes from its last one.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from array_api_compat import device

from contract.goals.command import GoalCommand
from contract.goals.features import GOAL_DIM
from contract.goals.masks import NUM_TOKENS, sample_masks
from contract.observations import PROPRIO_SIZE, term_sizes
from robots.clip import MotionClip
from training import distributed, runs
from training.configs import Stage2Config, environment
from training.env import HoiEnv
from training.expert import expert_env_config, load_expert
from training.goal_env import GoalEnv
from training.models.losses import stage2_loss
from training.models.policy import Sizes, VariationalPolicy
from training.random_source import make_random


def copied(a, dtype=torch.float32) -> torch.Tensor:
    """A torch copy of a rollout array (numpy or tensor; its source changes in place)."""
    return torch.as_tensor(a).to(dtype=dtype, copy=True)


def expert_share(cfg: Stage2Config, iteration: int) -> float:
    t = min(1.0, iteration / max(cfg.expert_decay_iters, 1))
    return cfg.expert_share_start + t * (cfg.expert_share_end - cfg.expert_share_start)


def build_policy(cfg: Stage2Config, env: HoiEnv) -> VariationalPolicy:
    obs = PROPRIO_SIZE
    future = sum(term_sizes(len(env.cfg.future_offsets)).values()) - obs
    sizes = Sizes(obs=obs, history=cfg.goals.history, goals=NUM_TOKENS, goal_dim=GOAL_DIM,
                  future=future, actions=29)  # fmt: skip
    return VariationalPolicy(sizes, cfg.model)


class Stage2:
    """Environment, expert, goals and student of one distillation run."""

    def __init__(self, cfg: Stage2Config, clips: list[MotionClip]):
        self.cfg = cfg
        env_cfg = environment(expert_env_config(runs.resolved(cfg.expert), clips)[0],
                              cfg.placement, cfg.env)  # fmt: skip
        # on the warp backend the environment, expert, goals, student and rollout all
        # stay on the simulation's device (torch); on the batch backend, numpy and CPU
        self.env = env = HoiEnv(clips, env_cfg, on_device=True)
        self.xp, like = env.xp, env.last_action
        self.device = env.frame.device if env.xp is not np else torch.device("cpu")
        self.expert = load_expert(runs.resolved(cfg.expert), env)
        seed = cfg.env.seed
        self.rng = make_random(seed, like)
        torch.manual_seed(seed)
        self.policy = build_policy(cfg, env).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=cfg.learning_rate.start)
        sampler = partial(sample_masks, probs=cfg.pattern_probs)
        self.goals = GoalCommand(env.n, cfg.goals, env_cfg.control_hz, self.rng,
                                 sampler=sampler, like=like)  # fmt: skip
        self.sim = GoalEnv(env, self.goals)
        self.noise = self._noise(env.n)
        self.iteration = 0
        self.curve = runs.Curve()
        # lengths of the last 100 finished episodes (logging), where the environment is
        self.episode_steps = self.xp.zeros(0, dtype=self.xp.int64, device=device(like))

    def _noise(self, k: int) -> torch.Tensor:
        return torch.randn(k, self.cfg.model.latent_dim, device=self.device)

    def mean_episode_steps(self) -> float:
        """Mean length of the last 100 finished episodes (0 before the first)."""
        steps = self.episode_steps
        return float(self.xp.mean(self.xp.astype(steps, self.xp.float64))) if len(steps) else 0.0

    @property
    def obs(self):
        """The simulations' observations now."""
        return self.sim.obs

    def rollout(self) -> dict[str, torch.Tensor]:
        """``steps_per_iter`` DAgger steps; returns the batch (T, N, ...)."""
        env, goals, share = self.env, self.goals, expert_share(self.cfg, self.iteration)
        keys = ("history", "tokens", "visible", "future", "noise", "expert_action",
                "residual", "mask", "same_episode")  # fmt: skip
        steps: dict[str, list] = {k: [] for k in keys}
        xp, dev = self.xp, device(env.last_action)
        fresh = xp.ones(env.n, dtype=xp.bool, device=dev)

        for _ in range(self.cfg.steps_per_iter):
            tokens, visible, residual = self.sim.inputs()
            labels = self.expert(self.obs)
            history, future = copied(goals.history), copied(self.obs[:, PROPRIO_SIZE:])
            tok, vis = copied(tokens), copied(visible, torch.bool)
            with torch.inference_mode():
                student = self.policy.act(history, tok, vis)
            student = student if xp is not np else student.numpy()
            use_expert = self.rng.random(env.n) < share
            action = xp.where(use_expert[:, None], labels, student)
            if self.cfg.action_noise > 0:  # no draw without: runs keep their random streams
                action = action + self.rng.normal(scale=self.cfg.action_noise, size=action.shape)
            for k, v in (("history", history), ("tokens", tok), ("visible", vis),
                         ("future", future), ("noise", self.noise.clone()),
                         ("expert_action", copied(labels)), ("residual", copied(residual)),
                         ("mask", copied(goals.mask, torch.bool)),
                         ("same_episode", copied(~fresh, torch.bool))):  # fmt: skip
                steps[k].append(v)
            lived = env.steps + 1
            _, _, _, _, info = self.sim.step(action)
            done = info["reset_ids"]
            self.episode_steps = xp.concat([self.episode_steps, lived[done]])[-100:]
            self.noise[done] = self._noise(len(done))
            fresh = xp.zeros(env.n, dtype=xp.bool, device=dev)
            fresh[done] = True
        return {k: torch.stack(v) for k, v in steps.items()}

    def learn(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg, p = self.cfg, self.policy
        t, n = batch["noise"].shape[:2]
        p.train()
        p.update_normalization(batch["history"].flatten(0, 1), batch["tokens"].flatten(0, 1),
                               batch["future"].flatten(0, 1))  # fmt: skip
        logs: dict[str, list[float]] = {}
        for _ in range(cfg.epochs):
            for envs in torch.randperm(n, device=self.device).chunk(cfg.mini_batches):
                mb = {k: v[:, envs].flatten(0, 1) for k, v in batch.items()}
                out = p(mb["history"], mb["tokens"], mb["visible"], mb["future"], mb["noise"])
                loss, terms = stage2_loss(out, mb, cfg.loss, t)
                self.optimizer.zero_grad()
                loss.backward()
                distributed.average_gradients(list(p.parameters()))
                torch.nn.utils.clip_grad_norm_(p.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                for k, v in {**terms, "total": float(loss.detach())}.items():
                    logs.setdefault(k, []).append(v)
        p.eval()
        return {k: float(np.mean(v)) for k, v in logs.items()}

    def state_dict(self) -> dict:
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                "iteration": self.iteration, "curve": self.curve.state()}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.curve = runs.Curve(state.get("curve"), upto=self.iteration)


def train(cfg: Stage2Config, run_dir: Path, clips: list[MotionClip] | None = None,
          quiet: bool = False, minutes: float | None = None) -> Stage2:  # fmt: skip
    """Distil (or resume) until ``cfg.iterations`` iterations are done or ``minutes`` are
    up; under ``torchrun`` on every process: each simulates its own environments (seed +
    rank), parameters start as rank 0's and gradients are averaged, rank 0 writes
    checkpoints and logs."""
    # on the warp backend the student sits beside the environment on its device
    placement = cfg.placement
    rank, _ = distributed.setup(placement.device if placement.backend == "warp" else "cpu")
    main = rank == 0
    run_dir, cfg = Path(run_dir), runs.recorded(cfg)
    if main:
        runs.write(run_dir, 2, cfg)
    clips = clips if clips is not None else runs.load_clips(cfg.motions)
    device = distributed.physics_device(placement.device)
    run = Stage2(replace(cfg, placement=replace(placement, device=device),
                         env=replace(cfg.env, seed=cfg.env.seed + 1000 * rank)), clips)  # fmt: skip
    if (run_dir / runs.CHECKPOINT).is_file():
        run.load_state_dict(runs.load_checkpoint(run_dir))
    elif cfg.init:
        run.load_state_dict(runs.load_checkpoint(cfg.init))
    distributed.broadcast_parameters(list(run.policy.parameters()))

    def iterate() -> dict[str, float]:
        lr = run.optimizer.param_groups[0]["lr"]
        logs = run.learn(run.rollout())
        run.iteration += 1
        logs = {k: distributed.mean_scalar(v) for k, v in logs.items()}
        episode = distributed.mean_scalar(run.mean_episode_steps())
        share = expert_share(cfg, run.iteration)
        return {**logs, "expert_share": share, "episode_steps": episode, "learning_rate": lr}

    runs.train_loop(run, cfg, run_dir, "stage2", iterate,
                    ("imitation", "prior_imitation", "kl", "expert_share", "episode_steps"),
                    main, quiet, minutes)  # fmt: skip
    return run
