"""Detection results against the paper's detection-as-classification bound (eq. 7), mAP beside it.

A detection record (its task model ranks by a metric other than accuracy, and its labels are
objects per image) carries: bits per image (real bytes × 8), bits per pixel of the original
images, COCO mAP in ``Metrics.scores``, and ``accuracy`` = the share of images whose decoded
objects form exactly the annotated configuration (see :mod:`vcmbench.tasks.detection`).

The bound is the paper's eq. 7 on the suite's own configuration space, computed exactly here from
the record: P positions (the task model's ``grid``, P = grid²), C classes (the task model's
``classes``), up to N objects (the most objects any image of the split has: the record's
``num_classes − 1``, its labels being object counts). K = Σ_{i=1..N} C(P, i)·C^i, an exact integer.
``log2 K`` bits per image is what lossless coding of equally likely configurations needs, and
R_K(1 − A) (eq. 4 with K classes) what any code needs to recover the configuration of a share A
of the images. Both bound configuration recovery, never mAP: the paper says no conversion between
them exists, and none is made here. Each point is shown with its bits per image, the ratio
bits / log2 K, and R_K at its configuration accuracy.

mAP does not average under time-sharing (AP is not a mean over images), so no hull is drawn
between detection points: a codec's rate at an mAP level is that of its cheapest measured point
reaching it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from vcmbench import theory
from vcmbench.api.record import ResultRecord
from vcmbench.theory.confidence import clopper_pearson

MAP = "mAP@[.5:.95]"


def is_detection(record: ResultRecord) -> bool:
    """A record of a detector: ranked by a score, with the eq. 7 configuration space in its task model."""
    params = record.task_model.params
    return record.task_model.metric != "accuracy" and "grid" in params and "classes" in params


@dataclass(frozen=True)
class ConfigurationSpace:
    """The eq. 7 space of a detection split: positions, classes, most objects per image."""

    grid: int
    classes: int
    max_objects: int

    @property
    def positions(self) -> int:
        return self.grid * self.grid

    @property
    def configurations(self) -> int:
        return theory.detection_configurations(self.positions, self.classes, self.max_objects)

    @property
    def log2_k(self) -> float:
        return theory.detection_bits(self.positions, self.classes, self.max_objects)

    def bound_at(self, accuracy: float) -> float:
        """R_K(1 − accuracy): bits per image any code needs to get that share of configurations right."""
        return float(theory.uniform_rate(self.configurations, 1.0 - accuracy))

    def describe(self) -> str:
        k = self.configurations
        return (f"P = {self.positions} positions ({self.grid}×{self.grid} grid), C = {self.classes} classes, "
                f"up to N = {self.max_objects} objects per image (the most in the annotations): "
                f"K = {k:.3e} configurations, log2 K = {self.log2_k:.2f} bits per image")


def configuration_space(record: ResultRecord) -> ConfigurationSpace:
    params = record.task_model.params
    return ConfigurationSpace(grid=int(params["grid"]), classes=int(params["classes"]),
                              max_objects=max(1, record.dataset.num_classes - 1))


@dataclass(frozen=True)
class DetectionPoint:
    """One detection operating point, every number recomputed from the record."""

    codec: str
    params: dict[str, Any]
    granularity: str
    bits_per_image: float
    bits_per_pixel: float | None
    scores: dict[str, float]
    metric: str
    accuracy: float  # exact-configuration accuracy
    accuracy_low: float
    accuracy_high: float
    log2_k: float
    bound_bits: float  # R_K(1 − accuracy), eq. 4 over the K configurations of eq. 7
    correct: int = 0
    samples: int = 0

    @property
    def score(self) -> float | None:
        return self.scores.get(self.metric)

    @property
    def ratio_to_log2_k(self) -> float:
        return self.bits_per_image / self.log2_k

    @property
    def ratio_to_bound(self) -> float | None:
        return self.bits_per_image / self.bound_bits if self.bound_bits > 1e-12 else None


def detection_point(record: ResultRecord) -> DetectionPoint:
    m = record.metrics
    assert m is not None
    space = configuration_space(record)
    bits = m.bits_total / m.samples
    accuracy = m.correct / m.samples
    low, high = clopper_pearson(m.correct, m.samples)
    pixels = record.dataset.pixels_per_sample
    return DetectionPoint(
        codec=record.codec.name, params=record.codec.params, granularity=record.codec.granularity,
        bits_per_image=bits, bits_per_pixel=bits / pixels if pixels else None, scores=dict(m.scores),
        metric=record.task_model.metric, accuracy=accuracy, accuracy_low=low, accuracy_high=high,
        log2_k=space.log2_k, bound_bits=space.bound_at(accuracy), correct=m.correct, samples=m.samples,
    )


def detection_points(records: Sequence[ResultRecord]) -> list[DetectionPoint]:
    return [detection_point(r) for r in records if r.status == "ok" and r.metrics is not None]


@dataclass(frozen=True)
class MetricLevel:
    """A codec's cheapest measured point reaching a metric level (None: no point reaches it)."""

    codec: str
    level: float
    point: DetectionPoint | None


def cheapest_at_levels(points: Sequence[DetectionPoint], levels: Sequence[float]) -> list[MetricLevel]:
    """Per codec and level: the fewest bits per image among its points whose metric reaches the level."""
    rows = []
    for codec in sorted({p.codec for p in points}):
        mine = [p for p in points if p.codec == codec and p.score is not None]
        for level in levels:
            reaching = [p for p in mine if p.score is not None and p.score >= level]
            cheapest = min(reaching, key=lambda p: p.bits_per_image, default=None)
            rows.append(MetricLevel(codec, level, cheapest))
    return rows


def reference_line(record: ResultRecord) -> str:
    """The task model on uncompressed images: its metric, other scores and configuration accuracy."""
    task = record.task_model
    scores = task.reference_scores
    main = scores.get(task.metric)
    others = ", ".join(f"{k} {v:.4f}" for k, v in scores.items() if k != task.metric)
    head = f"uncompressed {task.metric} {main:.4f}" if main is not None else f"uncompressed {task.metric} n/a"
    return (f"{head}{f' ({others})' if others else ''}, configuration accuracy "
            f"{task.reference_accuracy:.4f}")


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "-"


def format_detection_points(points: Sequence[DetectionPoint]) -> str:
    """One line per point: bits per image and pixel, mAP, configuration accuracy, eq. 7 readings."""
    from vcmbench.report.table import _layout

    metrics = sorted({k for p in points for k in p.scores}, key=lambda k: (k != points[0].metric, k)) \
        if points else []
    header = ("codec", "params", "mode", "bits/image", "bits/pixel", *metrics, "config acc", "95% CI",
              "R_K(1-acc)", "bits/log2 K")
    rows = [header] + [
        (p.codec, _params(p.params), p.granularity, _num(p.bits_per_image), _num(p.bits_per_pixel, 5),
         *(_num(p.scores.get(k), 4) for k in metrics), f"{p.accuracy:.4f}",
         f"[{p.accuracy_low:.3f}, {p.accuracy_high:.3f}]", _num(p.bound_bits, 2), f"{p.ratio_to_log2_k:.2f}x")
        for p in points
    ]
    return _layout(rows, right_from=3)


def format_metric_levels(levels: Sequence[MetricLevel], metric: str) -> str:
    from vcmbench.report.table import _layout

    header = ("codec", f"{metric} ≥", "bits/image", "bits/pixel", metric, "params")
    rows = [header] + [
        (lv.codec, f"{lv.level:.3f}",
         _num(lv.point.bits_per_image) if lv.point else "not reached",
         _num(lv.point.bits_per_pixel, 5) if lv.point else "-",
         _num(lv.point.score, 4) if lv.point else "-", _params(lv.point.params) if lv.point else "-")
        for lv in levels
    ]
    return _layout(rows, right_from=1)


def point_json(p: DetectionPoint) -> dict[str, Any]:
    """A detection point as plain JSON, with the numbers the table derives from it."""
    return {**asdict(p), "score": p.score, "ratio_to_log2_k": p.ratio_to_log2_k,
            "ratio_to_bound": p.ratio_to_bound}


def detection_json(records: Sequence[ResultRecord], levels: Sequence[float] = ()) -> list[dict[str, Any]]:
    """Every detection group of ``records`` as JSON: eq. 7's space, each point, the cheapest per level."""
    from vcmbench.report.gaps import group_records

    out = []
    for (suite, dataset_id, fingerprint), group in group_records(records).items():
        first = group[0]
        if not is_detection(first):
            continue
        space = configuration_space(first)
        points = detection_points(group)
        out.append({
            "suite": suite, "dataset_id": dataset_id, "dataset_fingerprint": fingerprint,
            "samples": first.dataset.samples, "metric": first.task_model.metric,
            "reference_scores": dict(first.task_model.reference_scores),
            "reference_accuracy": first.task_model.reference_accuracy,
            "configuration_space": {"positions": space.positions, "classes": space.classes,
                                    "max_objects": space.max_objects,
                                    "configurations": str(space.configurations), "log2_k": space.log2_k},
            "bound_note": BOUND_NOTE,
            "points": [point_json(p) for p in points],
            "levels": [{"codec": lv.codec, "level": lv.level,
                        "point": None if lv.point is None else point_json(lv.point)}
                       for lv in cheapest_at_levels(points, levels)],
        })
    return out


BOUND_NOTE = ("the paper's detection-as-classification bound (eq. 7) is for exact configuration recovery, "
              "not a bound on mAP; mAP is reported beside it, never converted into it")


def detection_section(group: Sequence[ResultRecord], levels: Sequence[float]) -> list[str]:
    """The report lines of one detection group (after its header line)."""
    first = group[0]
    space = configuration_space(first)
    pixels = first.dataset.pixels_per_sample
    out = [
        "rates are real: 8 × bytes received, per image"
        + (f"; bits per pixel over the original images ({pixels:,} pixels per image on average)"
           if pixels else ""),
        f"detection as classification (paper eq. 7): {space.describe()}",
        f"NOTE: {BOUND_NOTE}; R_K(1-acc) is that bound at the configuration accuracy reached",
    ]
    points = detection_points(group)
    if points:
        out += ["", format_detection_points(points)]
        if levels:
            out += ["", f"cheapest measured point reaching each {first.task_model.metric} level (no hull: "
                        "mAP does not average under time-sharing):",
                    format_metric_levels(cheapest_at_levels(points, levels), first.task_model.metric)]
    return out


def detection_figure(points: Sequence[DetectionPoint], space: ConfigurationSpace, reference: float | None,
                     title: str = "", metric: str = MAP, levels: Sequence[float] = ()) -> Any:
    """mAP against bits per image, with log2 K of eq. 7 marked (a bound on configurations, not on mAP).

    No line joins a codec's points: mAP does not average under time-sharing.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vcmbench.report.plot import codec_style, draw_levels, place_legend, set_rate_axis

    fig, ax = plt.subplots(figsize=(10.5, 5.2))
    for i, codec in enumerate(sorted({p.codec for p in points})):
        mine = sorted((p for p in points if p.codec == codec and p.score is not None),
                      key=lambda p: p.bits_per_image)
        style = codec_style(i)
        ax.plot([p.bits_per_image for p in mine], [p.score for p in mine], ls="none", marker=style["marker"],
                ms=5, color=style["color"], label=codec)
    ax.axvline(space.log2_k, color="black", lw=1.5,
               label=f"log2 K = {space.log2_k:.1f} bits (eq. 7: lossless configuration coding; "
                     "bounds configurations, not mAP)")
    if reference is not None:
        ax.axhline(reference, color="grey", lw=1, ls="--", label=f"uncompressed {metric} {reference:.3f}")
    draw_levels(ax, levels, name=f"target {metric}")
    set_rate_axis(ax, [p.bits_per_image for p in points] + [space.log2_k], ratio=100.0)
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1.0)
    ax.set_xlabel("bits per image (real bytes × 8)")
    ax.set_ylabel(f"{metric} (COCOeval)")
    ax.set_title(title or "rate-mAP")
    ax.grid(alpha=0.3)
    place_legend(ax)
    fig.tight_layout()
    return fig


def plot_detection(points: Sequence[DetectionPoint], space: ConfigurationSpace, reference: float | None,
                   path: Any, title: str = "", metric: str = MAP, levels: Sequence[float] = ()) -> None:
    """:func:`detection_figure` written to ``path``."""
    from vcmbench.report.plot import save_figure

    save_figure(detection_figure(points, space, reference, title, metric, levels), path)
