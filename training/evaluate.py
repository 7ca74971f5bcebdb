"""The Stage 2 evaluation suite (``python -m training eval RUN_DIR --task T``): every
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
in the start (deterministic policy and physics); ``--randomize`` gives each attempt the
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

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from contract.goals.features import GOAL_TOLERANCE, goal_distance
from contract.goals.tokens import GoalConfig, Goals
from contract.metrics import AttemptStats
from contract.observations import proprioception
from contract.terminations import TerminationConfig
from robots.objects import surface_points
from training.env import HoiEnv
from training.expert import expert_env_config, load_expert
from training.inbetween import InbetweenConfig, InbetweenEnv
from training.models.losses import LossWeights
from training.models.policy import ModelConfig, VariationalPolicy
from training.stage1 import load_clips
from training.stage2 import CHECKPOINT, CONFIG, Stage2Config, build_policy

TASKS = ("full", "snapshot", "trajectory", "contact", "chain", "random_init", "inbetween",
         "getup")  # fmt: skip
GETUP_ATTEMPT_SECONDS = 8.0


def _stage2_config(saved: dict) -> Stage2Config:
    goals = GoalConfig(
        **{**saved["goals"], "snapshot_steps": tuple(saved["goals"]["snapshot_steps"])}
    )
    model = ModelConfig(**{k: tuple(v) if isinstance(v, list) else v
                           for k, v in saved["model"].items()})  # fmt: skip
    rest = {k: v for k, v in saved.items() if k not in ("goals", "model", "loss", "motions")}
    return Stage2Config(**rest, motions=tuple(saved["motions"]), goals=goals, model=model,
                        loss=LossWeights(**saved["loss"]))  # fmt: skip


def load_stage2(run_dir: Path, expert: str = "") -> Stage2Config:
    """The configuration of a Stage 2 run (for a Stage 3 run: of the run it started from),
    with the labeller ``expert`` if given, else a Stage 3 run's own if it chose one."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a Stage 2 or 3 run (no {CONFIG})")
    saved = json.loads(path.read_text())
    expert = expert or (saved.get("expert", "") if "stage2" in saved else "")
    saved = saved.get("stage2", saved)
    if "expert" not in saved:
        raise ValueError(f"{run_dir} is not a Stage 2 or 3 run (a Stage 1 run? use play)")
    if expert and not Path(expert).exists():
        raise FileNotFoundError(f"expert {expert} does not exist")
    cfg = _stage2_config(saved)
    return replace(cfg, expert=expert) if expert else cfg


def load_latent_run(run_dir: Path) -> tuple[Stage2Config, dict, int]:
    """(Stage 2 config, policy weights, stage) of a Stage 2 or Stage 3 run."""
    cfg = load_stage2(run_dir)
    stage = 3 if "stage2" in json.loads((Path(run_dir) / CONFIG).read_text()) else 2
    checkpoint = Path(run_dir) / CHECKPOINT
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{run_dir} has no checkpoint yet")
    return cfg, torch.load(checkpoint, weights_only=True, map_location="cpu")["policy"], stage


def run_task(
    run_dir: Path,
    task: str,
    episodes: int = 1,
    with_expert: bool = True,
    randomize: bool = False,
    action_noise: float = 0.0,
    **placement,
) -> dict:
    """One task's report; ``randomize``: each attempt under the training randomization
    (object mass and friction, gains, action delay, pushes), the same draws for the
    student and the expert, so that repeated attempts of one clip differ;
    ``action_noise``: the std (action units) of Gaussian noise on every executed action;
    ``placement``: the physics ``backend`` and ``device``."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    cfg, weights, stage = load_latent_run(run_dir)
    clips = load_clips(list(cfg.motions))
    n = len(clips) * episodes
    env_cfg, _ = expert_env_config(Path(cfg.expert), n, clips, randomize, cfg.physics)
    sparse = task not in ("full", "random_init")
    terms = TerminationConfig().falls_only() if sparse else TerminationConfig()
    env_cfg = replace(env_cfg, psi_prob=0.0, terminations=terms,
                      episode_seconds=max(c.duration for c in clips) + 1.0,
                      **placement)  # fmt: skip
    if task == "getup":
        env_cfg = replace(env_cfg, episode_seconds=GETUP_ATTEMPT_SECONDS)
        fallen = InbetweenConfig(fallen_prob=1.0, fallen_states=max(n, 8))
        env = InbetweenEnv(clips, env_cfg, fallen)
    elif task == "inbetween":
        env = InbetweenEnv(clips, env_cfg, InbetweenConfig(fallen_prob=0.0))
    else:
        env = HoiEnv(clips, env_cfg)
    policy = build_policy(cfg, env)
    policy.load_state_dict(weights)
    policy.eval()
    actors = {"student": policy}
    expert = None
    if with_expert and task not in ("inbetween", "getup"):  # these start off the clip
        expert = load_expert(Path(cfg.expert), env)
        if task in ("full", "random_init"):
            actors["expert"] = expert
    report = {"task": task, "stage": stage}
    for who, actor in actors.items():
        labeller = expert if who == "student" else None
        report[who] = attempts(env, len(clips), task, cfg.goals, actor,
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
    Every evaluation runs here: ``play`` for Stage 1 runs, ``eval`` for Stage 2/3."""
    if action_noise < 0:
        raise ValueError(f"action_noise {action_noise}: a standard deviation is >= 0")
    n, rng, kick = env.n, np.random.default_rng(0), np.random.default_rng(1)
    env.rng = np.random.default_rng(env.cfg.seed)  # same randomization for every policy
    ids = np.arange(n)
    clip = ids % num_clips
    start = np.zeros(n, int)
    if task in ("random_init", "inbetween"):
        start = (rng.random(n) * (env.refs.lengths[clip] * 0.7)).astype(int)
    if task == "getup":  # fallen starts (clips and frames from the fall bank)
        env.reset(ids)
        clip = env.clip.copy()
    else:
        env.reset_to(ids, clip, start)
    if task == "random_init":
        env.perturb_joints(ids, 0.1, rng)
    if task == "inbetween":
        env.random_starts(ids)
    env.backend.forward(ids)
    gcfg = replace(goals_cfg, snapshot_steps=(50, 50)) if task == "chain" else goals_cfg
    pattern = {"chain": "snapshot", "random_init": "full", "inbetween": "snapshot",
               "getup": "snapshot"}.get(task, task)  # fmt: skip
    goals = Goals(n, gcfg, env.cfg.control_hz, rng, pattern=pattern)
    obs = env.observation()
    last = env.refs.lengths[clip] - 1
    goals.reset(ids, env.frame, last, proprioception(obs))
    stats = AttemptStats(n, surface_points(env.object, 1024))
    e_g = np.zeros(n)
    stood, ended = np.zeros(n, bool), np.zeros(n, bool)  # get-up bookkeeping
    label_error, label_steps = 0.0, 0
    while stats.alive.any():
        state = env.index.from_backend(env.backend)
        tokens, visible, residual = goals.tokens(state, env.refs, env.clip, env.frame)
        e_g += np.where(stats.alive, np.nan_to_num(goal_distance(residual, goals.mask)), 0.0)
        if isinstance(actor, VariationalPolicy):
            history = torch.from_numpy(goals.history.astype(np.float32))
            task_flags = None
            if task == "getup":
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
        obs, _, terminated, truncated, info = env.step(action)
        if record is not None and stats.alive[0]:
            record.append(info["state"])
        if task == "getup":
            stood |= stats.alive & ~terminated & ~env.getup
            ended |= stats.alive & terminated
        stats.record(terminated, truncated, info)
        goals.advance(env.frame, last, proprioception(obs))
    if task == "getup":  # up within the time allowed and no fall after
        stats.success = stood & ~ended
    goal_error = stats.per_frame(e_g)
    if task not in ("full", "random_init", "getup"):
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
