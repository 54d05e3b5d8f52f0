"""Views for codecs that decode to the input or send layers: rate-distortion, rate-accuracy per
layer, distortion-classification at a fixed rate, BD-rates, and the rate penalty of a fixed encoder.

Everything is computed from records (real bytes; per-layer bits from ``Metrics.layers``), per
(suite, dataset id, test fingerprint) group, never mixing test sets.

* **Layers** (:func:`layer_rows`): for each layered point, each layer's own bits per sample and
  what its prefix gives: the base prefix's accuracy (its task output), the full prefix's PSNR,
  SSIM/MS-SSIM and the classifier's cross-entropy on the reconstruction.
* **BD-rate on PSNR** (:func:`bd_rates`): between the scalable variants' rate-PSNR curves, by the
  ``bjontegaard`` package with ``pchip`` interpolation of rate over PSNR — the monotone cubic of
  the JVET common test conditions, which passes through every point and cannot overshoot between
  them as Bjøntegaard's original cubic polynomial can with four points. Rate-PSNR curves are
  smooth RD curves by convention; the achievable curve under time-sharing is not (MSE, not PSNR,
  is linear between points), so these numbers compare curves as the literature does, and are not
  the achievable-hull BD-rates of rate-accuracy curves (:mod:`vcmbench.publish.bdrate`, which
  this module uses for the base layer's accuracy). Per pair of variants and per metric (PSNR, and
  SSIM in dB, −10·log10(1 − SSIM), as CompressAI plots MS-SSIM; 28×28 digits are too small for
  MS-SSIM, see :mod:`vcmbench.tasks.distortion`): on the full stream's bits (base + enhancement,
  what the paper reports) and on the enhancement layer's bits alone.
* **Distortion-classification** (:func:`dc_rows`, :func:`rate_penalty`): the ``rdc-*`` points at
  each rate, MSE against the cross-entropy (bits) of the suite's classifier; the rate penalty of
  the fixed encoder is the nominal rate minus the least end-to-end rate that reaches a universal
  point's (D, C), by time-sharing between end-to-end points (a linear programme,
  :func:`vcmbench.theory.rdc.envelope_rate`).

* **The papers' effects** (:func:`paper_verdicts`): each claim the two papers make that these
  records can test, with the measured number and whether it reproduces here — a plain yes or no
  by a stated criterion, so an effect that does not reproduce on the embedded digits says so.

No R(D, C) bound is drawn beside MNIST points: it needs the joint law of 28×28 images and their
labels, which nobody knows. :func:`theory_note` says so; :mod:`vcmbench.theory.rdc` computes
R(D, C) for small discrete sources.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vcmbench.api.record import ResultRecord

SCALABLE_VARIANTS = ("scalable-baseline", "scalable-proposed", "scalable-standalone")
BD_PAIRS = (("scalable-baseline", "scalable-proposed"), ("scalable-proposed", "scalable-standalone"),
            ("scalable-baseline", "scalable-standalone"))  # (anchor, test)
BD_METHOD = "pchip"
BD_METRICS = ("psnr", "ssim_db")  # quality axes of the BD-rates: PSNR, SSIM in dB
RDC_E2E, RDC_UNIVERSAL = "rdc-e2e", "rdc-universal"
# "About the same" for the universal RDC paper's effect: a fixed-encoder decoder reaches an end-to-end
# target when its distortion and its classification term are each within this share of the target's
# (measurement noise of one training run), and the worst per-target penalty is within this share of the rate.
PENALTY_TOLERANCE = 0.05


@dataclass(frozen=True)
class LayerRow:
    codec: str
    params: dict[str, Any]
    layer: str
    bits_per_sample: float  # this layer's own bits
    prefix_bits_per_sample: float  # layers 0..this one
    accuracy: float | None  # from this prefix
    scores: dict[str, float]


def _ok(records: Sequence[ResultRecord]) -> list[ResultRecord]:
    return [r for r in records if r.status == "ok" and r.metrics is not None]


def layer_rows(records: Sequence[ResultRecord]) -> list[LayerRow]:
    """One row per layer of every layered point, in record order."""
    rows = []
    for r in _ok(records):
        m = r.metrics
        if not m.layers:
            continue
        prefix = 0
        for lay in m.layers:
            prefix += lay.bits_total
            rows.append(LayerRow(r.codec.name, dict(r.codec.params), lay.name, lay.bits_total / m.samples,
                                 prefix / m.samples, None if lay.correct is None else lay.correct / m.samples,
                                 dict(lay.scores)))
    return rows


def quality(scores: dict[str, float], metric: str) -> float | None:
    """A quality axis from a record's scores: ``psnr`` as is; ``ssim_db`` = −10·log10(1 − SSIM) (or
    of MS-SSIM where measured); None when the record lacks it."""
    if metric == "psnr":
        return scores.get("psnr")
    if metric == "ssim_db":
        value = scores.get("ms_ssim", scores.get("ssim"))
        if value is None or not value < 1:
            return None
        return -10 * math.log10(1 - value)
    raise ValueError(f"unknown quality metric {metric!r}")


def psnr_curves(records: Sequence[ResultRecord], *, layer: str | None = None, metric: str = "psnr"
                ) -> dict[str, list[tuple[float, float]]]:
    """(bits per sample, quality) of each scalable variant, sorted by rate (quality: PSNR by default).

    ``layer=None``: the full stream's bits; ``layer="enhancement"``: that layer's bits alone. A
    variant's curve holds the points on its most common base (``base`` parameter), so a curve
    never mixes two base layers.
    """
    curves: dict[str, list[tuple[float, float]]] = {}
    for name in SCALABLE_VARIANTS:
        mine = [r for r in _ok(records)
                if r.codec.name == name and quality(r.metrics.scores, metric) is not None]
        if not mine:
            continue
        bases = [r.codec.params.get("base") for r in mine]
        common = max(set(bases), key=bases.count)
        points = []
        for r in mine:
            if r.codec.params.get("base") != common:
                continue
            m = r.metrics
            bits = m.bits_total if layer is None else \
                sum(x.bits_total for x in m.layers or () if x.name == layer)
            points.append((bits / m.samples, quality(m.scores, metric)))
        curves[name] = sorted(points)
    return curves


def pareto(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both axes (fewer bits and higher PSNR), by rate."""
    kept: list[tuple[float, float]] = []
    for rate, psnr in sorted(points):
        if not kept or psnr > kept[-1][1]:
            kept.append((rate, psnr))
    return kept


@dataclass(frozen=True)
class BdRow:
    anchor: str
    test: str
    stream: str  # "full" or a layer name
    percent: float | None  # negative: the test needs fewer bits at equal quality
    reason: str = ""
    metric: str = "psnr"


def bd_rate_psnr(anchor: Sequence[tuple[float, float]], test: Sequence[tuple[float, float]]
                 ) -> tuple[float | None, str]:
    """BD-rate (%) of ``test`` against ``anchor`` on rate-PSNR curves (pchip; see the module notes)."""
    import bjontegaard

    a, t = pareto(anchor), pareto(test)
    if len(a) < 2 or len(t) < 2:
        return None, "needs two or more points per curve on its Pareto front"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = bjontegaard.bd_rate([p[0] for p in a], [p[1] for p in a], [p[0] for p in t],
                                        [p[1] for p in t], method=BD_METHOD, require_matching_points=False,
                                        min_overlap=0.0)
        except (ValueError, ZeroDivisionError) as exc:
            return None, f"bjontegaard: {exc}"
    if value is None or not math.isfinite(value):
        why = "; ".join(str(w.message) for w in caught) or "the PSNR ranges do not overlap"
        return None, why
    return float(value), ""


def bd_rates(records: Sequence[ResultRecord]) -> list[BdRow]:
    """BD-rate between the scalable variants, per quality metric, on the full stream and on the
    enhancement layer alone."""
    rows = []
    for metric in BD_METRICS:
        for stream, layer in (("full", None), ("enhancement", "enhancement")):
            curves = psnr_curves(records, layer=layer, metric=metric)
            for anchor, test in BD_PAIRS:
                if anchor in curves and test in curves:
                    value, reason = bd_rate_psnr(curves[anchor], curves[test])
                    rows.append(BdRow(anchor, test, stream, value, reason, metric))
    return rows


def base_accuracy_curves(records: Sequence[ResultRecord]) -> dict[str, list[tuple[float, float]]]:
    """(accuracy, bits per sample) of the base layer alone, per base variant (``scalable-base``)."""
    curves: dict[str, list[tuple[float, float]]] = {}
    for r in _ok(records):
        if r.codec.name == "scalable-base":
            variant = str(r.codec.params.get("variant"))
            curves.setdefault(variant, []).append((r.metrics.accuracy, r.metrics.bits_per_sample))
    return {k: sorted(v) for k, v in curves.items()}


def base_bd_rate(records: Sequence[ResultRecord]) -> tuple[float | None, str]:
    """BD-rate of the proposed base against the baseline base on their achievable rate-accuracy hulls."""
    from vcmbench.publish.bdrate import bd_rate
    from vcmbench.report.hull import free_point

    curves = base_accuracy_curves(records)
    if not {"baseline", "proposed"} <= set(curves):
        return None, "needs scalable-base points of both variants"
    first = next(r for r in _ok(records) if r.codec.name == "scalable-base")
    free = free_point(first.dataset.prior_counts, first.dataset.train_prior_counts)
    return bd_rate(curves["baseline"], curves["proposed"], free, first.dataset.samples)


@dataclass(frozen=True)
class DcRow:
    codec: str
    lambda_c: float
    dims: int
    bits_per_sample: float
    mse: float
    psnr: float | None
    cross_entropy_bits: float | None
    accuracy: float


def dc_rows(records: Sequence[ResultRecord]) -> list[DcRow]:
    """The distortion-classification points of the ``rdc-*`` codecs, by codec, rate and λ_c."""
    rows = []
    for r in _ok(records):
        if r.codec.name not in (RDC_E2E, RDC_UNIVERSAL) or "mse" not in r.metrics.scores:
            continue
        s = r.metrics.scores
        params = r.codec.params
        rows.append(DcRow(r.codec.name, float(params.get("lambda_c", 0.0)), int(params.get("dims", 3)),
                          r.metrics.bits_per_sample, s["mse"], s.get("psnr"), s.get("cross_entropy_bits"),
                          r.metrics.accuracy))
    return sorted(rows, key=lambda row: (row.codec, row.dims, row.lambda_c))


@dataclass(frozen=True)
class Penalty:
    lambda_c: float
    universal_bits: float
    e2e_bits_needed: float | None  # None: no time-sharing of end-to-end points reaches this (D, C)
    penalty_bits: float | None


def rate_penalty(records: Sequence[ResultRecord]) -> tuple[list[Penalty], float | None]:
    """Per universal point, the least end-to-end rate reaching its (MSE, CE) and the difference; and
    A(Θ) = universal rate − the largest of those rates (the paper's eq. 4 on measured curves)."""
    import numpy as np

    from vcmbench.theory.rdc import envelope_rate

    rows = dc_rows(records)
    e2e = np.array([[r.bits_per_sample, r.mse, r.cross_entropy_bits] for r in rows
                    if r.codec == RDC_E2E and r.cross_entropy_bits is not None])
    out = []
    for r in rows:
        if r.codec != RDC_UNIVERSAL or r.cross_entropy_bits is None or not len(e2e):
            continue
        needed = envelope_rate(e2e, r.mse, r.cross_entropy_bits)
        out.append(Penalty(r.lambda_c, r.bits_per_sample, needed,
                           None if needed is None else r.bits_per_sample - needed))
    reached = [p.e2e_bits_needed for p in out if p.e2e_bits_needed is not None]
    total = None
    if out and len(reached) == len(out):
        total = max(p.universal_bits for p in out) - max(reached)
    return out, total


@dataclass(frozen=True)
class Coverage:
    """An end-to-end target at the fixed encoder's rate, and whether the fixed encoder's decoders reach it."""

    lambda_c: float
    mse: float
    cross_entropy_bits: float
    reached: bool  # by a time-sharing of the universal points, within PENALTY_TOLERANCE on D and on C


def coverage(records: Sequence[ResultRecord]) -> list[Coverage]:
    """Which end-to-end (D, C) targets at the universal codec's rate its decoders reach: the paper's Θ
    is the trade-off the end-to-end models trace, and A(Θ) ≈ 0 means the fixed encoder reaches it all."""
    import numpy as np

    from vcmbench.theory.rdc import envelope_rate

    rows = [r for r in dc_rows(records) if r.cross_entropy_bits is not None]
    universal = [r for r in rows if r.codec == RDC_UNIVERSAL]
    if not universal:
        return []
    dims = universal[0].dims
    arr = np.array([[r.bits_per_sample, r.mse, r.cross_entropy_bits] for r in universal])
    slack = 1 + PENALTY_TOLERANCE
    return [Coverage(t.lambda_c, t.mse, t.cross_entropy_bits,
                     envelope_rate(arr, t.mse * slack, t.cross_entropy_bits * slack) is not None)
            for t in rows if t.codec == RDC_E2E and t.dims == dims]


@dataclass(frozen=True)
class Verdict:
    """One claim of a paper, tested on these records."""

    paper: str
    claim: str
    measured: str
    reproduced: bool | None  # None: the records cannot test it (and ``measured`` says why)

    @property
    def word(self) -> str:
        return {True: "reproduced", False: "NOT reproduced", None: "not measured"}[self.reproduced]


TCR = "task-compatible representations (de Andrade & Bajic)"
URDC = "universal RDC representations (Nguyen et al.)"


def _bd(rows: Sequence[BdRow], anchor: str, test: str) -> BdRow | None:
    return next((b for b in rows if (b.anchor, b.test, b.stream, b.metric) == (anchor, test, "full", "psnr")),
                None)


def paper_verdicts(records: Sequence[ResultRecord]) -> list[Verdict]:
    """The papers' effects these records can test, each with its number and a yes/no by a stated rule."""
    out = []
    rows = bd_rates(records)

    def bd_verdict(anchor: str, test: str, claim: str, sign: int) -> None:
        row = _bd(rows, anchor, test)
        if row is None or row.percent is None:
            why = "no curves of both" if row is None else row.reason
            out.append(Verdict(TCR, claim, f"BD-rate n/a ({why})", None))
            return
        measured = f"BD-rate {row.percent:+.1f} % ({test} vs {anchor}, full stream, PSNR)"
        out.append(Verdict(TCR, claim, measured, row.percent * sign > 0))

    if any(r.codec.name in SCALABLE_VARIANTS for r in _ok(records)):
        bd_verdict("scalable-baseline", "scalable-proposed",
                   "the reconstruction reward on the base saves enhancement bits: proposed needs fewer bits "
                   "than baseline at equal PSNR (paper: 10-85 % BD-rate savings)", -1)
        bd_verdict("scalable-proposed", "scalable-standalone",
                   "the proposed base is useful side information: coding the enhancement without it "
                   "(standalone) needs more bits", +1)
        base_value, base_reason = base_bd_rate(records)
        claim = ("the reward does not cost the base task: the proposed base needs no more bits than the "
                 "baseline base for the same accuracy (paper: 1-10 % savings)")
        if base_value is None:
            out.append(Verdict(TCR, claim, f"BD-rate n/a ({base_reason})", None))
        else:
            out.append(Verdict(TCR, claim, f"BD-rate {base_value:+.1f} % on achievable rate-accuracy hulls",
                               base_value <= 0))
    penalties, _ = rate_penalty(records)
    targets = coverage(records)
    if penalties and targets:
        claim = ("one fixed encoder serves the whole (D, C) trade-off at the end-to-end rate, A(Θ) ≈ 0 for Θ "
                 f"= the end-to-end targets at its rate (criterion: each reached within "
                 f"{PENALTY_TOLERANCE:.0%} on D and C, and no universal point costing more than "
                 f"{PENALTY_TOLERANCE:.0%} of the rate over end-to-end time-sharing)")
        reached = [t for t in targets if t.reached]
        rate = max(p.universal_bits for p in penalties)
        known = [p.penalty_bits for p in penalties if p.penalty_bits is not None]
        worst = max(known) if known else None
        measured = (f"{len(reached)} of {len(targets)} end-to-end targets reached "
                    f"(lambda_c {', '.join(f'{t.lambda_c:g}' for t in reached) or 'none'}); worst per-point "
                    f"penalty {_num(worst, 3)} bits at {rate:.3f} bits")
        ok = len(reached) == len(targets) and worst is not None and worst <= PENALTY_TOLERANCE * rate
        out.append(Verdict(URDC, claim, measured, ok))
    return out


def theory_note() -> str:
    return ("no R(D, C) bound is shown for these points: it would need the joint law of 28×28 digit "
            "images and their labels, which is unknown (vcmbench.theory.rdc computes R(D, C) for small "
            "discrete sources only)")


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "-"


def format_rd_report(records: Sequence[ResultRecord]) -> str:
    """The text a person reads: layers, BD-rates, the base's rate-accuracy, D-C and the rate penalty."""
    out: list[str] = []
    rows = layer_rows(records)
    if rows:
        out.append("layered points (bits are this layer's own; metrics decode every layer up to it):")
        table = [("codec", "params", "layer", "bits/sample", "prefix bits", "accuracy", "psnr", "ssim",
                  "ce bits")]
        for r in rows:
            s = r.scores
            table.append((r.codec, _params(r.params), r.layer, _num(r.bits_per_sample),
                          _num(r.prefix_bits_per_sample), _num(r.accuracy, 4), _num(s.get("psnr")),
                          _num(s.get("ssim", s.get("ms_ssim")), 4), _num(s.get("cross_entropy_bits"), 3)))
        out.append(_table(table))
    bd = bd_rates(records)
    if bd:
        out.append("")
        out.append(f"BD-rate on rate-quality curves (bjontegaard, {BD_METHOD}; negative: the test codec "
                   f"needs fewer bits; ssim_db = -10 log10(1 - SSIM)):")
        for row in bd:
            value = f"{row.percent:+.1f} %" if row.percent is not None else f"n/a ({row.reason})"
            out.append(f"  {row.test} vs {row.anchor} [{row.stream} stream, {row.metric}]: {value}")
    base_value, base_reason = base_bd_rate(records)
    if base_accuracy_curves(records):
        out.append("")
        text = f"{base_value:+.1f} %" if base_value is not None else f"n/a ({base_reason})"
        out.append(f"base layer, proposed vs baseline, BD-rate on achievable rate-accuracy hulls: {text}")
    dc = dc_rows(records)
    if dc:
        out.append("")
        out.append("distortion-classification (MSE in 0..255 units; ce: the task model's cross-entropy in "
                   "bits):")
        table = [("codec", "dims", "bits/sample", "lambda_c", "mse", "psnr", "ce bits", "accuracy")]
        table += [(r.codec, str(r.dims), _num(r.bits_per_sample, 3), f"{r.lambda_c:g}", _num(r.mse, 1),
                   _num(r.psnr), _num(r.cross_entropy_bits, 3), _num(r.accuracy, 4)) for r in dc]
        out.append(_table(table))
        penalties, total = rate_penalty(records)
        if penalties:
            out.append("rate penalty of the fixed encoder (the least end-to-end rate reaching each universal "
                       "(D, C)):")
            for p in penalties:
                need = "not reached by any end-to-end time-sharing" if p.e2e_bits_needed is None else \
                    f"{p.e2e_bits_needed:.3f} bits -> penalty {p.penalty_bits:+.3f} bits"
                out.append(f"  lambda_c={p.lambda_c:g}: universal at {p.universal_bits:.3f} bits; {need}")
            out.append(f"  A(Theta) over the targets the universal decoders reach = {_num(total, 3)} bits"
                       if total is not None else
                       "  A(Theta): not measurable (some universal point is beyond every end-to-end "
                       "time-sharing)")
            for t in coverage(records):
                word = "reached" if t.reached else "NOT reached"
                out.append(f"  end-to-end target lambda_c={t.lambda_c:g} (mse {t.mse:.1f}, ce "
                           f"{t.cross_entropy_bits:.3f} bits): {word} by the fixed encoder's decoders")
    verdicts = paper_verdicts(records)
    if verdicts:
        out.append("")
        out.append("the papers' effects on these records:")
        for v in verdicts:
            out.append(f"  [{v.word}] {v.paper}: {v.claim} -- measured: {v.measured}")
    if rows or dc:
        out.append("")
        out.append(theory_note())
    return "\n".join(out)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return "\n".join(lines)
