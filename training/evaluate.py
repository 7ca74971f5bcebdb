"""Evaluation of a run (``python -m training evaluate RUN_DIR``). A Stage 1 run: every clip
from its first frame with the deterministic policy, success, E_h, E_o and falls as in
the papers. A Stage 2 or 3 run: the suite below (``--task T``), every
clip from its first frame (``random_init``: a random frame with perturbed joints), the
deterministic policy (prior mean, no latent noise), one attempt per clip and episode
(InterMimic reports best-of-N; every attempt counts here).

Tasks (goals the policy sees; early terminations; success):

- full: every component of 3 preview frames and the snapshot; Stage 1's terminations
  (fall, robot/object deviation > 0.5 m, hand contact lost 10 frames); reaching the
  clip's end.
- snapshot: one frame 0.5-2 s ahead, every component; falls only; reaching the end with
  a goal error < 0.2 m.
- trajectory: root and object positions of 3 preview frames; as snapshot.
- contact: a frame 0.5-2 s ahead: hand positions, object pose, contact labels; as
  snapshot.
- chain: snapshot goals exactly 1 s apart, one after the other; as snapshot.
- random_init: as full, from a random frame (first 70 %) with joints perturbed (0.1 rad;
  a physical start, ``HoiEnv.physical_start``).
- inbetween: Stage 3's own task: from a random frame (first 70 %) moved to a random
  initial configuration as in training (``InbetweenEnv.random_starts``: shifted and
  turned off the data, 30 % also with perturbed joints and a velocity kick), snapshot
  goals; as snapshot.
- getup: lying on the floor (Stage 3's simulated falls), the get-up token on until the
  robot stands, then snapshot goals; success: standing within 5 s and not falling again
  within the attempt (8 s or up to the clip's end).

Without randomization the attempts of one clip differ only in the snapshot token's
horizon (drawn 0.5-2 s ahead per attempt; 1 s in ``chain``) and, for ``random_init``,
in the start (deterministic policy and physics); ``--env.randomize`` gives each attempt the
training randomization as well. ``--action-noise S`` adds Gaussian noise (std S action
units, the same draws for student and expert) to every executed action: the imitation
error a policy's closed loop tolerates.

Goal error: the mean distance of the visible position goals (root, key bodies, object)
of the nearest goal token, averaged over the episode. E_h (cm): mean key-body error to
the reference; E_o (cm): mean error of 1024 object surface points; both over the frames
each attempt lived. Failure rate: attempts that fell. For ``full`` the expert runs the
same attempts for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from contract.goals.command import GoalCommand
from contract.goals.features import GOAL_TOLERANCE, goal_distance
from contract.goals.tokens import GoalConfig
from contract.metrics import AttemptStats
from contract.state import rollout_clip
from contract.terminations import TerminationConfig
from robots.objects import surface_points
from training import runs
from training.configs import EnvOverrides, Placement, environment
from training.env import HoiEnv
from training.expert import expert_env_config, load_expert
from training.goal_env import GoalEnv
from training.inbetween import InbetweenConfig, InbetweenEnv
from training.models.policy import VariationalPolicy
from training.stage1 import trained_policy
from training.stage2 import build_policy

GETUP_ATTEMPT_SECONDS = 8.0


@dataclass(frozen=True)
class Task:
    """One evaluation task: what the policy sees, how attempts start, end and succeed."""

    pattern: str
    """The goal pattern the policy sees (``contract/goals/masks.py``)."""
    tracking: bool = False
    """Stage 1's terminations (fall, deviations, contact lost) and success by reaching
    the clip's end; otherwise falls only, and success needs the goal error within
    tolerance."""
    start: str = "first"
    """``first``: each clip's first frame; ``random``: a random frame of its first 70 %;
    ``fallen``: lying on the floor (Stage 3's simulated falls)."""
    joint_noise: float = 0.0
    """Joint perturbation (rad) of the start (a physical start)."""
    off_data: bool = False
    """Moved to a random initial configuration as Stage 3 trains (``random_starts``)."""
    snapshot_steps: tuple[int, int] | None = None
    """The snapshot horizon (None: the run's)."""
    expert_attempts: bool = False
    """The expert runs the same attempts, for comparison."""

    @property
    def on_clip(self) -> bool:
        """Whether attempts start on the clip (the expert can label them)."""
        return self.start != "fallen" and not self.off_data


TASKS = {
    "full": Task("full", tracking=True, expert_attempts=True),
    "snapshot": Task("snapshot"),
    "trajectory": Task("trajectory"),
    "contact": Task("contact"),
    "chain": Task("snapshot", snapshot_steps=(50, 50)),
    "random_init": Task("full", tracking=True, start="random", joint_noise=0.1,
                        expert_attempts=True),
    "inbetween": Task("snapshot", start="random", off_data=True),
    "getup": Task("snapshot", start="fallen"),
}  # fmt: skip


def _task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")
    return TASKS[name]


def expert_environment(run_dir: Path, episodes: int, placement: Placement = Placement(),
                       env: EnvOverrides | None = None) -> tuple[HoiEnv, list]:  # fmt: skip
    """A Stage 1 run's environment for ``episodes`` attempts per clip from each clip's
    first frame, without PSI and by default without randomization (evaluation as in the
    papers; ``env``: overrides of the run's environment), and its clips."""
    _, cfg = runs.read(run_dir)
    clips = runs.load_clips(cfg.motions)
    seconds = max(c.duration for c in clips) + 1.0
    overrides = replace(env or EnvOverrides(randomize=False), episode_seconds=seconds)
    placement = replace(placement, num_envs=len(clips) * episodes)
    return HoiEnv(clips, environment(cfg.env, placement, overrides, psi_prob=0.0)), clips


def evaluate_expert(run_dir: Path, episodes: int = 1, video: Path | None = None,
                    action_noise: float = 0.0, placement: Placement = Placement(),
                    env: EnvOverrides | None = None) -> dict:  # fmt: skip
    """A Stage 1 run's report (``expert_environment``): every clip from its first frame
    with the deterministic policy; ``video``: an MP4 of the first clip's first attempt."""
    env, clips = expert_environment(run_dir, episodes, placement, env)
    vec, policy = trained_policy(run_dir, env)

    def actor(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return policy(vec._wrap(obs)).numpy()

    record = [] if video is not None else None
    report = attempts(env, len(clips), "full", GoalConfig(), actor, record, action_noise)
    if record:
        from robots.render import render_video

        source = {"rollout_of": clips[0].source}
        render_video(rollout_clip(record, env.cfg.control_hz, clips[0].object, source), video)
    return {"stage": 1, "clips": len(clips), **report,
            "clip_duration_s": float(np.mean([c.duration for c in clips]))}  # fmt: skip


def run_task(
    run_dir: Path,
    task: str,
    episodes: int = 1,
    with_expert: bool = True,
    action_noise: float = 0.0,
    placement: Placement = Placement(),
    env: EnvOverrides | None = None,
) -> dict:
    """One task's report for a Stage 2 or 3 run; ``env``: overrides of the run's own
    environment (default: without randomization; ``randomize``: each attempt under the
    training randomization, the same draws for the student and the expert, so that
    repeated attempts of one clip differ); ``action_noise``: the std (action units) of
    Gaussian noise on every executed action."""
    spec = _task(task)
    cfg, stage = runs.latent_config(run_dir)
    clips = runs.load_clips(cfg.motions)
    n = len(clips) * episodes
    seconds = GETUP_ATTEMPT_SECONDS if spec.start == "fallen" else max(
        c.duration for c in clips) + 1.0  # fmt: skip
    terms = TerminationConfig() if spec.tracking else TerminationConfig().falls_only()
    overrides = (env or EnvOverrides(randomize=False)).over(cfg.env)
    env_cfg = environment(expert_env_config(runs.resolved(cfg.expert), clips)[0],
                          replace(placement, num_envs=n), overrides, psi_prob=0.0,
                          terminations=terms, episode_seconds=seconds)  # fmt: skip
    if spec.start == "fallen":
        sim = InbetweenEnv(clips, env_cfg, InbetweenConfig(fallen_prob=1.0,
                                                           fallen_states=max(n, 8)))  # fmt: skip
    elif spec.off_data:
        sim = InbetweenEnv(clips, env_cfg, InbetweenConfig(fallen_prob=0.0))
    else:
        sim = HoiEnv(clips, env_cfg)
    policy = build_policy(cfg, sim)
    policy.load_state_dict(runs.load_checkpoint(run_dir)["policy"])
    policy.eval()
    actors = {"student": policy}
    expert = None
    if with_expert and spec.on_clip:
        expert = load_expert(runs.resolved(cfg.expert), sim)
        if spec.expert_attempts:
            actors["expert"] = expert
    report = {"task": task, "stage": stage}
    for who, actor in actors.items():
        labeller = expert if who == "student" else None
        report[who] = attempts(sim, len(clips), task, cfg.goals, actor,
                               action_noise=action_noise, labeller=labeller)  # fmt: skip
        report[who]["failure_rate"] = report[who].pop("fall_rate")
    return report


def attempts(env, num_clips: int, task: str, goals_cfg: GoalConfig, actor,
             record: list | None = None, action_noise: float = 0.0,
             labeller=None) -> dict:  # fmt: skip
    """One attempt per simulation of ``env`` at ``task`` (simulation i plays clip
    i mod ``num_clips``): the deterministic ``actor``, a Stage 2/3 ``VariationalPolicy``
    or a callable on observations; the report of ``AttemptStats`` with the goal error.
    ``record`` receives the states of the first attempt while it lives (for a video);
    ``action_noise``: Gaussian noise of that std on every executed action, drawn from
    its own seeded stream (the same draws for every actor); ``labeller``: the expert (a
    callable on observations), whose labels of the states ``actor`` visits give the
    report's ``expert_action_error``, the summed squared action error per step of the
    living attempts (the distillation's loss on the deployed path, before the noise).
    Every evaluation runs here, Stage 1's and Stage 2/3's."""
    if action_noise < 0:
        raise ValueError(f"action_noise {action_noise}: a standard deviation is >= 0")
    spec = _task(task)
    getup = spec.start == "fallen"
    n, rng, kick = env.n, np.random.default_rng(0), np.random.default_rng(1)
    env.rng = np.random.default_rng(env.cfg.seed)  # same randomization for every policy
    ids = np.arange(n)
    clip = ids % num_clips
    start = np.zeros(n, int)
    if spec.start == "random":
        start = (rng.random(n) * (env.refs.lengths[clip] * 0.7)).astype(int)
    if getup:  # fallen starts (clips and frames from the fall bank)
        env.reset(ids)
        clip = env.clip.copy()
    else:
        env.reset_to(ids, clip, start)
    if spec.joint_noise:
        env.perturb_joints(ids, spec.joint_noise, rng)
    if spec.off_data:
        env.random_starts(ids)
    env.backend.forward(ids)
    gcfg = goals_cfg
    if spec.snapshot_steps is not None:
        gcfg = replace(goals_cfg, snapshot_steps=spec.snapshot_steps)
    goals = GoalCommand(n, gcfg, env.cfg.control_hz, rng, pattern=spec.pattern)
    sim = GoalEnv(env, goals, restart=False)
    obs = sim.obs
    stats = AttemptStats(n, surface_points(env.object, 1024))
    e_g = np.zeros(n)
    stood, ended = np.zeros(n, bool), np.zeros(n, bool)  # get-up bookkeeping
    label_error, label_steps = 0.0, 0
    while stats.alive.any():
        tokens, visible, residual = sim.inputs()
        e_g += np.where(stats.alive, np.nan_to_num(goal_distance(residual, goals.mask)), 0.0)
        if isinstance(actor, VariationalPolicy):
            history = torch.from_numpy(goals.history.astype(np.float32))
            task_flags = None
            if getup:
                task_flags = torch.from_numpy(env.getup[:, None].astype(np.float32))
            with torch.inference_mode():
                action = actor.act(history, torch.from_numpy(tokens), torch.from_numpy(visible),
                                   task=task_flags).numpy()  # fmt: skip
        else:
            action = actor(obs)
        if labeller is not None:
            error = ((action - labeller(obs)) ** 2).sum(axis=-1)
            label_error += float(error[stats.alive].sum())
            label_steps += int(stats.alive.sum())
        if action_noise > 0:
            action = action + kick.normal(scale=action_noise, size=action.shape)
        obs, _, terminated, truncated, info = sim.step(action)
        if record is not None and stats.alive[0]:
            record.append(info["state"])
        if getup:
            stood |= stats.alive & ~terminated & ~env.getup
            ended |= stats.alive & terminated
        stats.record(terminated, truncated, info)
    goal_error = stats.per_frame(e_g)
    if getup:  # up within the time allowed and no fall after
        stats.success = stood & ~ended
    elif not spec.tracking:
        stats.success &= goal_error < GOAL_TOLERANCE
    report = stats.summary(env.cfg.control_hz)
    if n > num_clips:  # several attempts per clip
        report["success_any_attempt"] = float(
            stats.success.reshape(-1, num_clips).any(axis=0).mean()
        )
    report["goal_error_cm"] = float(100 * goal_error.mean())
    if labeller is not None:
        report["expert_action_error"] = label_error / max(label_steps, 1)
    return report


def table(reports: list[dict]) -> str:
    """Markdown table in the layout of the paper's Table 1."""
    head = ("task", "policy", "success %", "E_h cm", "E_o cm", "failure %", "goal error cm",
            "survival s")  # fmt: skip
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in reports:
        for who in ("student", "expert"):
            if who in r:
                m = r[who]
                label = f"Stage {r.get('stage', 2)}" if who == "student" else "Stage 1 expert"
                rows.append(
                    f"| {r['task']} | {label} | "
                    f"{100 * m['success_rate']:.1f} | {m['E_h_cm']:.1f} | {m['E_o_cm']:.1f} | "
                    f"{100 * m['failure_rate']:.1f} | {m['goal_error_cm']:.1f} | "
                    f"{m['mean_survival_s']:.2f} |"
                )
    return "\n".join(rows)
