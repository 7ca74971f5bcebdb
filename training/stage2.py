"""Stage 2: distil the Stage 1 expert into the masked goal-conditioned variational
policy with online DAgger (InterPrior; MaskedMimic's loop).

Every iteration runs ``steps_per_iter`` control steps in all simulations. Each step the
expert labels the state with its action; the action executed is the expert's with
probability ``expert_share`` (1 -> 0 linearly over ``expert_decay_iters``), else the
student's own, taken as it is deployed (prior mean, no encoder), so the student learns
on the states its deployed form visits; ``action_noise`` perturbs the executed action
(DART). Then ``epochs`` passes of minibatch Adam on the loss of
``training.models.losses`` (minibatches of whole environments, so that adjacent steps
stay together for the temporal term), each minibatch from one of the last
``replay`` rollouts (DAgger's aggregated data set, bounded: the student does not chase
its newest batch alone). Checkpoints are atomic; a run resumes (with an empty replay).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from array_api_compat import device
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from contract.goals.features import GOAL_DIM
from contract.goals.masks import NUM_TOKENS, TRAINING_PROBS, check_probs, sample_masks
from contract.goals.tokens import GoalConfig, Goals
from contract.observations import PROPRIO_SIZE, proprioception, term_sizes
from robots.atomic import atomic_path, write_text
from robots.clip import MotionClip
from training import distributed
from training.backend import BackendName
from training.deployment_physics import StudentPhysics
from training.env import HoiEnv
from training.expert import expert_env_config, load_expert
from training.models.losses import LossWeights, stage2_loss
from training.models.policy import ModelConfig, Sizes, VariationalPolicy
from training.random_source import make_random
from training.resume import check_resumable

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"


@dataclass(frozen=True)
class Stage2Config:
    expert: str = ""
    motions: tuple[str, ...] = ()
    iterations: int = 1000
    num_envs: int = 64
    threads: int = 0
    backend: BackendName = "batch"
    """Physics: batch (MuJoCo threads on the CPU) or warp (MuJoCo Warp)."""
    device: str = "cpu"
    """The warp backend's device: cuda, cuda:N or cpu."""
    steps_per_iter: int = 24
    epochs: int = 4
    mini_batches: int = 4
    replay: int = 1
    """Minibatches come from the rollouts of the last this many iterations (1: the
    newest only)."""
    learning_rate: float = 3e-4
    final_learning_rate: float | None = None
    """Linear decay to this rate over the iterations from ``decay_start`` to
    ``iterations``; None: constant."""
    decay_start: int | None = None
    """Where the decay starts (None: when the student acts alone)."""
    action_noise: float = 0.0
    """Std of Gaussian noise (action units) added to every executed action in the
    rollouts (DART): the student then also learns the expert's recoveries from errors
    like its own. 0: none."""
    max_grad_norm: float = 1.0
    expert_share_start: float = 1.0
    expert_share_end: float = 0.0
    expert_decay_iters: int = 300
    save_interval: int = 10
    keep_every: int = 0
    """Also keep ``checkpoint_<iteration>.pt`` every this many iterations (0: only the
    latest), to choose among checkpoints afterwards."""
    seed: int = 0
    randomize: bool | None = None  # training.expert.expert_env_config
    physics: StudentPhysics = "expert"
    """The student's physics: the expert's training physics and randomization, or
    ``deployment``: sim2sim's (1 kHz, the model's own parameters, latency up to sim2sim's
    and sensor noise; ``training/deployment_physics.py``), where an expert that fails
    under its training randomization is still competent."""
    start_joint_noise: float = 0.0  # rad: perturbed starts (EnvConfig.start_joint_noise)
    episode_seconds: float | None = None
    """Episodes end after this long (None: the expert's setting). Shorter ones spread the
    states more evenly over the clip; run to its end, they crowd its last part."""
    pattern_probs: dict[str, float] = field(default_factory=lambda: dict(TRAINING_PROBS))
    """Training probability of each goal pattern (``contract/goals/masks.py``, ``random``
    included; normalized): the paper's mix by default; ``--pattern-probs.snapshot 0.6``
    changes one, 0 leaves a pattern out."""
    goals: GoalConfig = field(default_factory=GoalConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self):
        if self.replay < 1:
            raise ValueError(f"replay {self.replay}: minibatches need at least 1 rollout")
        if self.episode_seconds is not None and self.episode_seconds <= 0:
            raise ValueError(f"episode_seconds {self.episode_seconds}: an episode lasts > 0 s")
        if self.action_noise < 0:
            raise ValueError(f"action_noise {self.action_noise}: a standard deviation is >= 0")
        check_probs(self.pattern_probs)


def keep(a, dtype=torch.float32) -> torch.Tensor:
    """A torch copy of a rollout array (numpy or tensor; its source changes in place)."""
    return torch.as_tensor(a).to(dtype=dtype, copy=True)


def expert_share(cfg: Stage2Config, iteration: int) -> float:
    t = min(1.0, iteration / max(cfg.expert_decay_iters, 1))
    return cfg.expert_share_start + t * (cfg.expert_share_end - cfg.expert_share_start)


def learning_rate(cfg: Stage2Config, iteration: int) -> float:
    if cfg.final_learning_rate is None:
        return cfg.learning_rate
    start = cfg.expert_decay_iters if cfg.decay_start is None else cfg.decay_start
    t = np.clip((iteration - start) / max(cfg.iterations - start, 1), 0.0, 1.0)
    return float(cfg.learning_rate + t * (cfg.final_learning_rate - cfg.learning_rate))


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
        env_cfg, _ = expert_env_config(
            Path(cfg.expert), cfg.num_envs, clips, cfg.randomize, cfg.physics
        )
        episode = env_cfg.episode_seconds if cfg.episode_seconds is None else cfg.episode_seconds
        env_cfg = replace(env_cfg, num_threads=cfg.threads, backend=cfg.backend,
                          device=cfg.device, seed=cfg.seed, episode_seconds=episode,
                          start_joint_noise=cfg.start_joint_noise)  # fmt: skip
        # on the warp backend the environment, expert, goals, student and rollout all
        # stay on the simulation's device (torch); on the batch backend, numpy and CPU
        self.env = env = HoiEnv(clips, env_cfg, on_device=True)
        self.xp, like = env.xp, env.last_action
        self.device = env.frame.device if env.xp is not np else torch.device("cpu")
        self.expert = load_expert(Path(cfg.expert), env)
        self.rng = make_random(cfg.seed, like)
        torch.manual_seed(cfg.seed)
        self.policy = build_policy(cfg, env).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=cfg.learning_rate)
        sampler = partial(sample_masks, probs=cfg.pattern_probs)
        self.goals = Goals(env.n, cfg.goals, env_cfg.control_hz, self.rng, sampler=sampler,
                           like=like)  # fmt: skip
        self.obs = env.observation()
        everyone = self.xp.arange(env.n, device=device(like))
        self.goals.reset(everyone, env.frame, self._last(), self._proprio())
        self.noise = self._noise(env.n)
        self.replay: deque[dict[str, torch.Tensor]] = deque(maxlen=cfg.replay)
        self.iteration = 0
        # lengths of the last 100 finished episodes (logging), where the environment is
        self.episode_steps = self.xp.zeros(0, dtype=self.xp.int64, device=device(like))

    def _noise(self, k: int) -> torch.Tensor:
        return torch.randn(k, self.cfg.model.latent_dim, device=self.device)

    def mean_episode_steps(self) -> float:
        """Mean length of the last 100 finished episodes (0 before the first)."""
        steps = self.episode_steps
        return float(self.xp.mean(self.xp.astype(steps, self.xp.float64))) if len(steps) else 0.0

    def _last(self) -> np.ndarray:
        return self.env.refs.lengths[self.env.clip] - 1

    def _proprio(self) -> np.ndarray:
        return proprioception(self.obs)

    def rollout(self) -> dict[str, torch.Tensor]:
        """``steps_per_iter`` DAgger steps; returns the batch (T, N, ...)."""
        env, goals, share = self.env, self.goals, expert_share(self.cfg, self.iteration)
        keys = ("history", "tokens", "visible", "future", "noise", "expert_action",
                "residual", "mask", "same_episode")  # fmt: skip
        steps: dict[str, list] = {k: [] for k in keys}
        xp, dev = self.xp, device(env.last_action)
        fresh = xp.ones(env.n, dtype=xp.bool, device=dev)

        for _ in range(self.cfg.steps_per_iter):
            state = env.index.from_backend(env.backend)
            tokens, visible, residual = goals.tokens(state, env.refs, env.clip, env.frame)
            labels = self.expert(self.obs)
            history, future = keep(goals.history), keep(self.obs[:, PROPRIO_SIZE:])
            tok, vis = keep(tokens), keep(visible, torch.bool)
            with torch.inference_mode():
                student = self.policy.act(history, tok, vis)
            student = student if xp is not np else student.numpy()
            use_expert = self.rng.random(env.n) < share
            action = xp.where(use_expert[:, None], labels, student)
            if self.cfg.action_noise > 0:  # no draw without: runs keep their random streams
                action = action + self.rng.normal(scale=self.cfg.action_noise, size=action.shape)
            for k, v in (("history", history), ("tokens", tok), ("visible", vis),
                         ("future", future), ("noise", self.noise.clone()),
                         ("expert_action", keep(labels)), ("residual", keep(residual)),
                         ("mask", keep(goals.mask, torch.bool)),
                         ("same_episode", keep(~fresh, torch.bool))):  # fmt: skip
                steps[k].append(v)
            lived = env.steps + 1
            self.obs, _, _, _, info = env.step(action)
            done = info["reset_ids"]
            self.episode_steps = xp.concat([self.episode_steps, lived[done]])[-100:]
            goals.advance(env.frame, self._last(), self._proprio())
            goals.reset(done, env.frame[done], self._last()[done], self._proprio())
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
        self.replay.append(batch)
        logs: dict[str, list[float]] = {}
        for _ in range(cfg.epochs):
            for envs in torch.randperm(n, device=self.device).chunk(cfg.mini_batches):
                # no draw from one rollout: runs without replay keep their random streams
                which = int(torch.randint(len(self.replay), ())) if len(self.replay) > 1 else 0
                mb = {k: v[:, envs].flatten(0, 1) for k, v in self.replay[which].items()}
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
                "iteration": self.iteration}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])


def train(cfg: Stage2Config, run_dir: Path, clips: list[MotionClip], quiet: bool = False) -> Stage2:
    """Distil (or resume) until ``cfg.iterations`` iterations are done; under ``torchrun``
    on every process: each simulates its own environments (seed + rank), parameters
    start as rank 0's and gradients are averaged, rank 0 writes checkpoints and logs."""
    # on the warp backend the student sits beside the environment on its device
    rank, world = distributed.setup(cfg.device if cfg.backend == "warp" else "cpu")
    main = rank == 0
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        saved = run_dir / CONFIG
        if saved.is_file():
            previous = json.loads(saved.read_text())
            model = json.loads(json.dumps(asdict(cfg.model)))  # tuples -> lists, as saved
            check_resumable(run_dir, "expert or model",
                            {"expert": previous["expert"], "model": previous["model"]},
                            {"expert": cfg.expert, "model": model})  # fmt: skip
        write_text(saved, json.dumps(asdict(cfg), indent=2))
    device = distributed.physics_device(cfg.device)
    run = Stage2(replace(cfg, seed=cfg.seed + 1000 * rank, device=device), clips)
    if (run_dir / CHECKPOINT).is_file():
        run.load_state_dict(torch.load(run_dir / CHECKPOINT, weights_only=True, map_location="cpu"))
    distributed.broadcast_parameters(list(run.policy.parameters()))
    writer = SummaryWriter(str(run_dir)) if main else None
    bar = tqdm(total=cfg.iterations, initial=run.iteration, desc=f"stage2 x{world}", unit="it",
               disable=quiet or not main)  # fmt: skip
    while run.iteration < cfg.iterations:
        lr = learning_rate(cfg, run.iteration)
        for group in run.optimizer.param_groups:  # after a resume too
            group["lr"] = lr
        logs = run.learn(run.rollout())
        run.iteration += 1
        share = expert_share(cfg, run.iteration)
        logs = {k: distributed.mean_scalar(v) for k, v in logs.items()}
        episode = distributed.mean_scalar(run.mean_episode_steps())
        logs.update(expert_share=share, episode_steps=episode, learning_rate=lr)
        if not main:
            continue
        for k, v in logs.items():
            writer.add_scalar(f"stage2/{k}", v, run.iteration)
        bar.update(1)
        bar.set_postfix(imitation=f"{logs['imitation']:.3f}",
                        prior=f"{logs['prior_imitation']:.3f}", kl=f"{logs['kl']:.2f}",
                        share=f"{share:.2f}", ep=f"{episode:.0f}")  # fmt: skip
        if run.iteration % cfg.save_interval == 0 or run.iteration == cfg.iterations:
            with atomic_path(run_dir / CHECKPOINT) as tmp:
                torch.save(run.state_dict(), tmp)
        if cfg.keep_every and run.iteration % cfg.keep_every == 0:
            with atomic_path(run_dir / f"checkpoint_{run.iteration}.pt") as tmp:
                torch.save(run.state_dict(), tmp)
    bar.close()
    if writer:
        writer.close()
    return run
