"""The leaderboard's section for coding for humans and machines: plots and tables of layered and
distortion-classification results (numbers from :mod:`vcmbench.report.rd`).

Three panels in one figure (PNG and SVG, deterministic SVG ids):

a. rate-PSNR of the scalable variants: the full stream (base + enhancement, solid) and the
   enhancement layer alone (dashed), points joined in rate order (as the paper draws them; the
   BD-rates beside them use pchip, see :mod:`vcmbench.report.rd`);
b. rate-accuracy of the base layer alone, per base variant, drawn as achievable hulls with the
   free point (time-sharing: straight segments only);
c. distortion-classification at the universal codec's rate: MSE against the classifier's
   cross-entropy, end-to-end models with black outlines (as in the universal RDC paper's figure)
   and the fixed-encoder decoders filled; end-to-end models at other rates in grey.

:func:`rd_markdown` writes the matching Markdown: layer table, BD-rates (per stream and metric),
D–C table, rate penalty, the papers' effects with a plain reproduced / NOT reproduced each, and the
note that no R(D, C) bound is known for the digits. :func:`rd_sections` does both for every suite
of a set of published records (what the leaderboard's build calls).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vcmbench.api.record import ResultRecord
from vcmbench.publish.escape import markdown_text, params_text, plot_label
from vcmbench.report import rd

_COLOURS = {"scalable-baseline": "tab:blue", "scalable-proposed": "tab:orange",
            "scalable-standalone": "tab:green", "baseline": "tab:blue", "proposed": "tab:orange"}


def has_rd(records: Sequence[ResultRecord]) -> bool:
    """Whether the records hold anything this section shows."""
    return bool(rd.layer_rows(records) or rd.dc_rows(records))


def plot_rd(records: Sequence[ResultRecord], folder: Path, slug: str) -> dict[str, Path]:
    """Write ``<slug>-rd.png`` and ``.svg``; return them by format (empty when there is nothing to draw)."""
    if not has_rd(records):
        return {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vcmbench.report.hull import achievable_hull, free_point

    with matplotlib.rc_context({"svg.hashsalt": "vcmbench-publish-rd"}):
        fig, (ax_rd, ax_base, ax_dc) = plt.subplots(1, 3, figsize=(16, 5))
        for stream, style in ((None, "-"), ("enhancement", "--")):
            for name, points in rd.psnr_curves(records, layer=stream).items():
                label = f"{name} ({'full stream' if stream is None else 'enhancement only'})"
                ax_rd.plot([p[0] for p in points], [p[1] for p in points], style, marker="o",
                           color=_COLOURS.get(name), label=plot_label(label))
        ax_rd.set_xlabel("bits per digit")
        ax_rd.set_ylabel("PSNR (dB)")
        ax_rd.set_title("a. scalable variants: rate-PSNR")
        ax_rd.grid(alpha=0.3)
        ax_rd.legend(fontsize=7)

        base = rd.base_accuracy_curves(records)
        first = next((r for r in records if r.codec.name == "scalable-base" and r.metrics), None)
        free = free_point(first.dataset.prior_counts, first.dataset.train_prior_counts) if first else None
        for variant, points in base.items():
            hull = achievable_hull(points, free)
            ax_base.plot([b for _, b in hull], [a for a, _ in hull], "-", color=_COLOURS.get(variant))
            ax_base.plot([b for _, b in points], [a for a, _ in points], "o", color=_COLOURS.get(variant),
                         label=plot_label(f"base layer, {variant}"))
        if free is not None and base:
            ax_base.plot([0], [free[0]], "k*", label="free point")
        ax_base.set_xlabel("bits per digit (base layer)")
        ax_base.set_ylabel("accuracy from the base layer")
        ax_base.set_title("b. base layer: rate-accuracy (hulls)")
        ax_base.grid(alpha=0.3)
        if base:
            ax_base.legend(fontsize=7)

        dc = [r for r in rd.dc_rows(records) if r.cross_entropy_bits is not None]
        universal = [r for r in dc if r.codec == rd.RDC_UNIVERSAL]
        rate = universal[0].dims if universal else 3
        for r in dc:
            same = r.dims == rate
            if r.codec == rd.RDC_E2E:
                ax_dc.scatter(r.mse, r.cross_entropy_bits, s=60 if same else 25,
                              facecolor="white" if same else "none", edgecolor="black" if same else "grey",
                              zorder=3)
            else:
                ax_dc.scatter(r.mse, r.cross_entropy_bits, s=40, color="tab:red", zorder=4)
            ax_dc.annotate(f"{r.lambda_c:g}", (r.mse, r.cross_entropy_bits), fontsize=6, xytext=(3, 3),
                           textcoords="offset points", color="black" if same else "grey")
        ax_dc.scatter([], [], s=60, facecolor="white", edgecolor="black", label="end-to-end, same rate")
        ax_dc.scatter([], [], s=25, facecolor="none", edgecolor="grey", label="end-to-end, other rates")
        ax_dc.scatter([], [], s=40, color="tab:red", label="fixed encoder, own decoder")
        ax_dc.set_xlabel("MSE (0..255 units)")
        ax_dc.set_ylabel("cross-entropy of the classifier (bits)")
        ax_dc.set_title("c. distortion-classification (labels: lambda_c)")
        ax_dc.grid(alpha=0.3)
        ax_dc.legend(fontsize=7)
        fig.tight_layout()
        folder.mkdir(parents=True, exist_ok=True)
        paths = {fmt: folder / f"{slug}-rd.{fmt}" for fmt in ("png", "svg")}
        for fmt, path in paths.items():
            fig.savefig(path, dpi=110 if fmt == "png" else None,
                        metadata={"Date": None} if fmt == "svg" else None)
        plt.close(fig)
    return paths


def _n(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; every cell escaped (:func:`markdown_text`)."""
    lines = ["| " + " | ".join(markdown_text(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(markdown_text(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def rd_markdown(records: Sequence[ResultRecord], plots: dict[str, Path] | None = None,
                base_dir: Path | None = None) -> str:
    """The Markdown section (empty when the records hold no layered or D–C points)."""
    if not has_rd(records):
        return ""
    out = ["### Coding for humans and machines", ""]
    if plots and "png" in plots:
        target = plots["png"] if base_dir is None else plots["png"].relative_to(base_dir)
        out += [f"![rate-PSNR, base rate-accuracy, distortion-classification]({target.as_posix()})", ""]
    rows = rd.layer_rows(records)
    if rows:
        out += ["Layers (bits: this layer's own, per digit; metrics: decoding every layer up to it):", ""]
        out.append(_table(
            ("codec", "params", "layer", "bits", "prefix bits", "accuracy", "PSNR dB", "SSIM", "CE bits"),
            [(r.codec, params_text(r.params), r.layer, _n(r.bits_per_sample), _n(r.prefix_bits_per_sample),
              _n(r.accuracy, 4), _n(r.scores.get("psnr")),
              _n(r.scores.get("ssim", r.scores.get("ms_ssim")), 4), _n(r.scores.get("cross_entropy_bits"), 3))
             for r in rows]))
        out.append("")
    bd = rd.bd_rates(records)
    if bd:
        out += [f"BD-rate on rate-quality curves (bjontegaard package, {rd.BD_METHOD}; negative: fewer bits; "
                f"ssim_db = −10·log10(1 − SSIM)):", ""]
        out.append(_table(("test", "anchor", "bits counted", "quality", "BD-rate"),
                          [(b.test, b.anchor, b.stream, b.metric,
                            f"{b.percent:+.1f} %" if b.percent is not None else f"n/a: {b.reason}")
                           for b in bd]))
        out.append("")
    value, reason = rd.base_bd_rate(records)
    if rd.base_accuracy_curves(records):
        text = f"{value:+.1f} %" if value is not None else f"n/a ({reason})"
        out += ["Base layer, proposed against baseline, BD-rate on achievable rate-accuracy hulls: "
                + markdown_text(text), ""]
    dc = rd.dc_rows(records)
    if dc:
        out += ["Distortion-classification (MSE in 0..255 units; CE: the suite's classifier on the "
                "reconstructions, bits):", ""]
        out.append(_table(("codec", "dims", "bits", "lambda_c", "MSE", "PSNR dB", "CE bits", "accuracy"),
                          [(r.codec, str(r.dims), _n(r.bits_per_sample, 3), f"{r.lambda_c:g}", _n(r.mse, 1),
                            _n(r.psnr), _n(r.cross_entropy_bits, 3), _n(r.accuracy, 4)) for r in dc]))
        out.append("")
        penalties, total = rd.rate_penalty(records)
        if penalties:
            measured = (f"A(Θ) = {total:.3f} bits over the targets its decoders reach" if total is not None
                        else "not measurable (a universal point lies beyond every end-to-end time-sharing)")
            out += [f"Rate penalty of the fixed encoder: {measured}.", ""]
            out.append(_table(("lambda_c", "universal bits", "end-to-end bits for its (D, C)", "penalty"),
                              [(f"{p.lambda_c:g}", _n(p.universal_bits, 3), _n(p.e2e_bits_needed, 3),
                                _n(p.penalty_bits, 3)) for p in penalties]))
            out.append("")
        targets = rd.coverage(records)
        if targets:
            out += ["End-to-end targets at the fixed rate, reached by the fixed encoder's decoders (within "
                    f"{rd.PENALTY_TOLERANCE:.0%} on D and C)?", ""]
            out.append(_table(("lambda_c", "MSE", "CE bits", "reached"),
                              [(f"{t.lambda_c:g}", _n(t.mse, 1), _n(t.cross_entropy_bits, 3),
                                "yes" if t.reached else "NO") for t in targets]))
            out.append("")
    verdicts = rd.paper_verdicts(records)
    if verdicts:
        out += ["The papers' effects on these records (an honest negative is a result):", ""]
        out.append(_table(("paper", "claim", "measured", "verdict"),
                          [(v.paper, v.claim, v.measured, v.word) for v in verdicts]))
        out.append("")
    out.append(markdown_text(rd.theory_note()) + ".")
    return "\n".join(out) + "\n"


def rd_sections(records: Sequence[ResultRecord], out_dir: Path) -> tuple[str, list[Path]]:
    """The section and plots of every suite whose records hold layered or D–C points: (Markdown, files).

    Plots go to ``out_dir/plots/<suite>-rd.{png,svg}``; the Markdown links them relative to ``out_dir``.
    """
    by_suite: dict[str, list[ResultRecord]] = {}
    for r in records:
        by_suite.setdefault(r.suite, []).append(r)
    parts, files = [], []
    for suite in sorted(by_suite):
        mine = by_suite[suite]
        if not has_rd(mine):
            continue
        plots = plot_rd(mine, out_dir / "plots", suite)
        files += plots.values()
        text = rd_markdown(mine, plots, out_dir)
        parts.append(text.replace("### Coding for humans and machines",
                                  f"### Coding for humans and machines: {markdown_text(suite)}", 1))
    return "\n".join(parts), files
