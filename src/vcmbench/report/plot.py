"""The paper's Fig. 4 for any suite: the bound curve, each codec's points and its hull."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vcmbench import theory
from vcmbench.report.gaps import PointGap, codec_hulls


def plot_gaps(gaps: Sequence[PointGap], prior_counts: Sequence[int], path: Path, title: str = "") -> None:
    """Accuracy against bits per sample, log-scaled rate when the points span decades."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    acc, rate = theory.accuracy_rate_curve(list(prior_counts))
    ax.plot(rate, acc, color="black", lw=2, label="rate-accuracy bound (test prior)")
    k = len(prior_counts)
    acc_u, rate_u = theory.accuracy_rate_curve([1] * k)
    ax.plot(rate_u, acc_u, color="grey", lw=1, ls="--", label=f"bound, uniform K={k}")
    hulls = codec_hulls(gaps)
    for i, ((_, _, codec), hull) in enumerate(sorted(hulls.items())):
        color = plt.get_cmap("tab20")(i % 20)  # more codecs than the default 10-colour cycle
        pts = [g for g in gaps if g.codec == codec]
        ax.scatter([g.bits_per_sample for g in pts], [g.accuracy for g in pts], color=color, s=18,
                   label=codec, zorder=3)
        ax.plot([b for _, b in hull], [a for a, _ in hull], color=color, lw=1, alpha=0.8)
    bits = [g.bits_per_sample for g in gaps if g.bits_per_sample > 0]
    if bits and max(bits) / max(min(bits), 1e-3) > 100:
        ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("bits per sample (real bytes × 8)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or "rate-accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
