"""The deployment's physics for a student: distil where the expert is competent.

An expert can succeed in sim2sim (1 kHz, 5 ms latency, sensor noise) and fail from the
clip's start under the training randomization it was trained with (drawn masses,
friction, gains, contact softness, pushes at 200 Hz); a student distilled there learns
labels for states its expert cannot handle. Here the student's environment is
sim2sim's: the strict physics at 1 kHz, the model's own parameters, and randomized only
in what the robot still adds (latency up to sim2sim's, sensor noise). What it did for
the lift clip is measured in docs/experiments/stage2.md."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from contract.sensors import LATENCY_S
from robots.g1.mjcf import STRICT
from training.env import EnvConfig

StudentPhysics = Literal["expert", "deployment"]


def deployment_physics(cfg: EnvConfig) -> EnvConfig:
    """``cfg`` in sim2sim's physics: ``STRICT`` (1 kHz), no model randomization, pushes
    or start noise; latency drawn up to ``LATENCY_S`` and the configured sensor noise
    (while ``cfg``'s randomization is enabled)."""
    r = cfg.randomization
    calm = replace(r, model=False, push_robot_velocity=0.0, push_object_velocity=0.0,
                   joint_pos_noise=0.0, joint_vel_noise=0.0,
                   max_latency_s=LATENCY_S)  # fmt: skip
    return replace(cfg, physics=STRICT, randomization=calm)
