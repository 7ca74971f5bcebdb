"""The critic's privileged observation (asymmetric actor-critic): what the policy sees,
then the same terms from the true state (no tracker latency, no sensor noise), then
the episode's randomization as the simulation holds it (action latency, tracker
latency and noise, object mass and friction, floor friction, added torso mass, gain
and torque-limit scales). The critic is used in training only; it judges returns that
depend on what the policy cannot observe, so its value no longer has to average over
the randomization. The actor's part comes first, so a critic trained on the policy's
observation widens into this one without changing its values (``widen_critic``)."""

from __future__ import annotations

import torch

EXTRAS = ("latency", "tracker_steps", "tracker_noise", "object_mass", "object_friction",
          "floor_friction", "torso_mass", "gain_scale", "effort_scale")  # fmt: skip


def randomization(env) -> list:
    """(N,) per simulation, in ``EXTRAS`` order: the environment's per-episode draws
    and the model's, read back from the simulation (``ModelRandomizer.drawn``)."""
    xp, tracker = env.xp, env.tracker
    zero = xp.zeros(env.n, dtype=env._qpos.dtype)
    out = {
        "latency": xp.astype(env.latency, zero.dtype) / env.decimation,
        "tracker_steps": zero if tracker is None else xp.astype(tracker.steps, zero.dtype),
        "tracker_noise": zero if tracker is None else tracker.noise * 100.0,  # cm: unit scale
    }
    if env.randomizer is not None:
        out.update(env.randomizer.drawn())
    return [out.get(name, zero) for name in EXTRAS]


def critic_observation(env, policy_obs):
    """(N, D + D + len(EXTRAS)) float32: ``policy_obs``, the true-state observation and
    the randomization of ``env`` (a ``training.env.HoiEnv``) at its current state."""
    xp = env.xp
    true = env.observation(sensed=False)
    extras = xp.stack([xp.astype(v, xp.float32) for v in randomization(env)], axis=1)
    return xp.concat([xp.asarray(policy_obs, dtype=xp.float32), true, extras], axis=1)


def widen_critic(critic: dict, width: int) -> dict:
    """rsl-rl critic weights trained on the policy's observation (``D`` inputs) as a
    critic of ``critic_observation`` (``width`` = 2 D + ``len(EXTRAS)``): the new inputs
    enter with zero weight, so the values are unchanged; the true-state terms take the
    normalization of their measured twins, the randomization none (it is drawn on unit
    scales)."""
    first = critic["mlp.0.weight"]
    old = first.shape[1]
    if old == width:
        return critic
    if width != 2 * old + len(EXTRAS):
        raise ValueError(
            f"a critic of {old} inputs does not widen to {width}: expected "
            f"{2 * old + len(EXTRAS)} (the policy's, the true state's, "
            f"{len(EXTRAS)} randomization values)"
        )
    out = dict(critic)
    out["mlp.0.weight"] = torch.cat([first, first.new_zeros(first.shape[0], width - old)], 1)
    for key, fill in (("_mean", 0.0), ("_var", 1.0), ("_std", 1.0)):
        stat = critic[f"obs_normalizer.{key}"]
        extra = stat.new_full((stat.shape[0], len(EXTRAS)), fill)
        out[f"obs_normalizer.{key}"] = torch.cat([stat, stat, extra], 1)
    return out
