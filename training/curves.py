"""Learning curves of a run from its TensorBoard logs, as one PNG."""

from __future__ import annotations

from pathlib import Path

CURVES = (
    ("Train/mean_episode_length", "mean episode length (control steps)"),
    ("Train/mean_reward", "mean episode return"),
    ("reward/body_pos", "body position tracking term (per step)"),
    ("reward/object_pos", "object position tracking term (per step)"),
)


def plot_curves(run_dir: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from robots.atomic import atomic_path

    events = EventAccumulator(str(run_dir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    # Episode statistics appear once episodes have ended; plot what the run has.
    curves = [(t, title) for t, title in CURVES if t in tags]
    if not curves:
        raise FileNotFoundError(f"{run_dir}: no TensorBoard scalars of {[t for t, _ in CURVES]}")
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.2), squeeze=False)
    for ax, (tag, title) in zip(axes[0], curves, strict=True):
        points = events.Scalars(tag)
        ax.plot([p.step for p in points], [p.value for p in points], lw=1.2)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("PPO iteration", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out
