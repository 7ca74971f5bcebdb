"""Learning curves of a run from the curve its checkpoint keeps, as one PNG."""

from __future__ import annotations

from pathlib import Path

from common.atomic import atomic_path
from training import runs

CURVES = {
    1: (("Train/mean_episode_length", "mean episode length (control steps)"),
        ("Train/mean_reward", "mean episode return"),
        ("reward/body_pos", "body position tracking term (per step)"),
        ("reward/object_pos", "object position tracking term (per step)")),
    2: (("imitation", "imitation loss (training path)"),
        ("prior_imitation", "imitation loss (deployed path)"),
        ("kl", "KL(encoder || prior)"),
        ("episode_steps", "mean episode length (control steps)")),
    3: (("reward", "mean reward per step"),
        ("goal_success", "goals reached"),
        ("fall_rate", "falls per episode"),
        ("action_std", "action noise (action units)")),
}  # fmt: skip


def plot_curves(run_dir: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stage, _ = runs.read(run_dir)
    points = runs.load_checkpoint(run_dir).get("curve", {})
    # Episode statistics appear once episodes have ended; plot what the run has.
    curves = [(t, title) for t, title in CURVES[stage] if points.get(t)]
    if not curves:
        raise FileNotFoundError(f"{run_dir}: its checkpoint holds no curve of "
                                f"{[t for t, _ in CURVES[stage]]}")  # fmt: skip
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.2), squeeze=False)
    for ax, (tag, title) in zip(axes[0], curves, strict=True):
        steps, values = zip(*points[tag], strict=True)
        ax.plot(steps, values, lw=1.2)
        if "loss" in title and min(values) > 0:  # losses fall by decades
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("iteration", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out
