"""The typed configs of the three training stages and what they share: where the
simulations run (``Placement``), what a stage changes in the environment it inherits
(``EnvOverrides``, applied by ``environment``) and the learning-rate schedule
(``LearningRate``). Beneath the stages: a stage, the run folder (``training.runs``),
evaluation and export all read them from here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from contract.goals.masks import TRAINING_PROBS, check_probs
from contract.goals.tokens import GoalConfig
from training.backend import BackendName
from training.deployment_physics import StudentPhysics, deployment_physics
from training.env import EnvConfig
from training.inbetween import InbetweenConfig
from training.models.losses import LossWeights
from training.models.policy import ModelConfig


@dataclass(frozen=True)
class Placement:
    """Where a command's simulations run; never part of what a run learns, so a run
    resumes on another backend, device or thread count."""

    num_envs: int = 64
    """Simulations (per process under torchrun)."""
    threads: int = 0
    """Physics threads (0: all cores)."""
    backend: BackendName = "batch"
    """Physics: batch (MuJoCo threads on the CPU) or warp (MuJoCo Warp)."""
    device: str = "cpu"
    """The warp backend's device: cuda, cuda:N or cpu."""

    def __post_init__(self):
        if self.num_envs < 1:
            raise ValueError(f"num_envs {self.num_envs}: at least one simulation")


@dataclass(frozen=True)
class EnvOverrides:
    """What a command changes in the environment it inherits (a Stage 1 run's, or an
    exported expert's); None keeps the inherited value."""

    seed: int = 0
    episode_seconds: float | None = None
    """Episodes end after this long."""
    start_joint_noise: float | None = None
    """Joint-angle noise (rad) of every start (``EnvConfig.start_joint_noise``)."""
    randomize: bool | None = None
    """The robustness randomization on or off (an ONNX expert does not record it: on)."""
    physics: StudentPhysics | None = None
    """``expert``: the expert's training physics and randomization; ``deployment``:
    sim2sim's (``training/deployment_physics.py``)."""

    def __post_init__(self):
        if self.episode_seconds is not None and self.episode_seconds <= 0:
            raise ValueError(f"episode_seconds {self.episode_seconds}: an episode lasts > 0 s")

    def over(self, inherited: EnvOverrides) -> EnvOverrides:
        """These overrides on top of ``inherited`` ones (a parent run's): what is set here
        wins; the seed is always this command's."""
        given = {k: v for k, v in asdict(self).items() if v is not None}
        return replace(inherited, **given)


def environment(cfg: EnvConfig, placement: Placement, overrides: EnvOverrides | None = None,
                **fixed) -> EnvConfig:  # fmt: skip
    """``cfg`` placed by ``placement`` and changed by ``overrides`` and then by the
    command's own ``fixed`` settings: the one place an inherited environment changes."""
    cfg = replace(cfg, num_envs=placement.num_envs, num_threads=placement.threads,
                  backend=placement.backend, device=placement.device)  # fmt: skip
    if overrides is not None:
        if overrides.physics == "deployment":
            cfg = deployment_physics(cfg)
        if overrides.randomize is not None:
            cfg = replace(cfg, randomization=replace(cfg.randomization,
                                                     enabled=overrides.randomize))  # fmt: skip
        given = {k: getattr(overrides, k) for k in ("episode_seconds", "start_joint_noise")}
        cfg = replace(cfg, seed=overrides.seed, **{k: v for k, v in given.items() if v is not None})
    return replace(cfg, **fixed)


@dataclass(frozen=True)
class LearningRate:
    """The learning rate over a run's iterations: ``start``, from ``decay_from`` linear
    to ``end`` at ``end_at`` (None: the run's last iteration; ``end_at`` equal to
    ``decay_from``: a step), ``end`` after it; constant without ``end``."""

    start: float = 3e-4
    end: float | None = None
    decay_from: int = 0
    end_at: int | None = None
    adaptive: bool = False
    """Stage 1 only: rsl-rl's rate that follows the KL to ``desired_kl`` from ``start``."""

    def __post_init__(self):
        if self.adaptive and self.end is not None:
            raise ValueError("an adaptive learning rate has no end rate")
        if self.end_at is not None and self.end_at < self.decay_from:
            raise ValueError(f"learning rate end_at {self.end_at} < decay_from {self.decay_from}")

    def at(self, iteration: int, iterations: int) -> float:
        """The rate of ``iteration`` in a run of ``iterations``."""
        if self.end is None:
            return self.start
        end_at = iterations if self.end_at is None else self.end_at
        if iteration >= end_at:
            return self.end
        t = max(iteration - self.decay_from, 0) / max(end_at - self.decay_from, 1)
        return self.start + t * (self.end - self.start)

    def apply(self, optimizer, iteration: int, iterations: int) -> float:
        """Set ``optimizer``'s rate for ``iteration`` (after a resume too: the optimizer
        state carries the rate it was saved with); returns it."""
        lr = self.at(iteration, iterations)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr


@dataclass(frozen=True)
class Saving:
    """When a run writes its checkpoint."""

    interval: int = 10
    """Iterations between checkpoints (and at the end, and when ``--minutes`` is up)."""
    keep_every: int = 0
    """Also keep ``checkpoint_<iteration>.pt`` every this many iterations (0: only the
    latest), to choose among checkpoints afterwards."""

    def due(self, iteration: int, iterations: int) -> bool:
        """Whether a checkpoint is written after ``iteration`` of ``iterations``."""
        kept = self.keep_every and iteration % self.keep_every == 0
        return iteration % self.interval == 0 or iteration == iterations or bool(kept)


@dataclass(frozen=True)
class PpoConfig:
    hidden_dims: tuple[int, ...] = (1024, 1024, 512)
    steps_per_env: int = 24
    learning_epochs: int = 5
    mini_batches: int = 4
    learning_rate: LearningRate = LearningRate(start=1e-3, adaptive=True)
    desired_kl: float = 0.01
    entropy_coef: float = 0.005
    gamma: float = 0.99
    lam: float = 0.95
    init_noise_std: float = 1.0
    noise_std_range: tuple[float, float] = (1e-6, 1e6)
    """The exploration std is clamped to this range per joint. An upper bound keeps the
    rollouts' noise at a size the policy can survive, so it learns to succeed under it:
    the margin a student's imitation error needs (equal bounds fix the std)."""
    privileged_critic: bool = False
    """The critic also sees the true state and the episode's randomization
    (``training.privileged``); a critic trained without widens into it unchanged."""

    def __post_init__(self):
        low, high = self.noise_std_range
        if not 0 < low <= high:
            raise ValueError(f"noise_std_range must be 0 < low <= high, got {self.noise_std_range}")


@dataclass(frozen=True)
class Stage1Config:
    env: EnvConfig = field(default_factory=EnvConfig)
    """The expert's environment (its placement comes from ``placement``)."""
    ppo: PpoConfig = field(default_factory=PpoConfig)
    placement: Placement = Placement()
    iterations: int = 1000
    motions: tuple[str, ...] = ()
    init: str = ""
    """Start from this checkpoint (a ``.pt`` file or a run folder's latest) at its
    iteration, with its weights and optimizer state, in a new run folder."""
    saving: Saving = Saving()

    def __post_init__(self):
        check_iterations(self.iterations)


def check_iterations(iterations: int) -> None:
    if iterations < 1:
        raise ValueError(f"--iterations {iterations}: a run trains at least one iteration")


@dataclass(frozen=True)
class Stage2Config:
    expert: str = ""
    """The Stage 1 expert: a run folder or an exported ONNX policy."""
    motions: tuple[str, ...] = ()
    """The clips (default: the expert run's own)."""
    iterations: int = 1000
    init: str = ""
    """Start from this Stage 2 checkpoint (a ``.pt`` file or a run folder's latest) at
    its iteration, with its weights and optimizer state, in a new run folder."""
    placement: Placement = Placement()
    env: EnvOverrides = EnvOverrides()
    steps_per_iter: int = 24
    epochs: int = 4
    mini_batches: int = 4
    learning_rate: LearningRate = LearningRate(start=3e-4)
    action_noise: float = 0.0
    """Std of Gaussian noise (action units) added to every executed action in the
    rollouts (DART): the student then also learns the expert's recoveries from errors
    like its own. 0: none."""
    max_grad_norm: float = 1.0
    expert_share_start: float = 1.0
    expert_share_end: float = 0.0
    expert_decay_iters: int = 300
    saving: Saving = Saving()
    pattern_probs: dict[str, float] = field(default_factory=lambda: dict(TRAINING_PROBS))
    """Training probability of each goal pattern (``contract/goals/masks.py``, ``random``
    included; normalized): the paper's mix by default; ``--pattern-probs.snapshot 0.6``
    changes one, 0 leaves a pattern out."""
    goals: GoalConfig = field(default_factory=GoalConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self):
        check_iterations(self.iterations)
        if self.action_noise < 0:
            raise ValueError(f"action_noise {self.action_noise}: a standard deviation is >= 0")
        check_probs(self.pattern_probs)


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
    """The Stage 2 run to start from: its folder (latest checkpoint) or a checkpoint."""
    iterations: int = 500
    placement: Placement = Placement()
    """Simulations per process (both groups together) and their physics."""
    env: EnvOverrides = EnvOverrides()
    """Overrides of the Stage 2 run's environment (its physics and randomization stay
    the Stage 2 run's unless set here)."""
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
    learning_rate: LearningRate = LearningRate(start=1e-5)
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
    saving: Saving = Saving()
    task: InbetweenConfig = field(default_factory=InbetweenConfig)
    rewards: Stage3Rewards = field(default_factory=Stage3Rewards)

    def __post_init__(self):
        check_iterations(self.iterations)


STAGES = {1: Stage1Config, 2: Stage2Config, 3: Stage3Config}
