"""`vcmbench bound`: the rate-accuracy bound for a number of classes, a label prior or a detection setup,
and the model-aware bound of a task model from its confusion matrix (a JSON file or a result record)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from vcmbench import theory
from vcmbench.errors import UsageError
from vcmbench.theory import model_aware
from vcmbench.theory.priors import check_num_classes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bound", help="the fewest bits/sample any code needs for a given accuracy",
        description="Rate-accuracy bound R(1 − A) of a label source under Hamming distortion: paper eq. 4 "
                    "for K equally likely classes, Blahut–Arimoto for a prior given as label counts, "
                    "eq. 7 configuration counts for detection. With several --classes, one answer each.")
    p.add_argument("--classes", type=int, action="append", default=None, metavar="K",
                   help="number of equally likely classes (repeat for several curves with --plot); "
                        "with --detection, the number of object classes")
    p.add_argument("--prior-counts", default=None, metavar="C1,C2,...",
                   help="label counts (or probabilities) of the source, comma-separated")
    p.add_argument("--accuracy", type=float, default=None, metavar="A", help="target accuracy in [0, 1]")
    p.add_argument("--confusion", type=Path, default=None, metavar="FILE.json",
                   help="the model-aware bound of a task model: a JSON confusion matrix (confusion[y][k] = "
                        "samples of true class y called k) or a result record that carries one")
    p.add_argument("--detection", action="store_true", help="object detection as classification (eq. 7)")
    p.add_argument("--positions", type=int, default=None, metavar="P", help="object positions (detection)")
    p.add_argument("--max-objects", type=int, default=None, metavar="N", help="at most N objects (detection)")
    p.add_argument("--width", type=int, default=None, help="image width in pixels, for bits per pixel")
    p.add_argument("--height", type=int, default=None, help="image height in pixels, for bits per pixel")
    p.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                   help="write accuracy against bits (one curve per K; a prior beside its uniform curve)")
    p.add_argument("--json", action="store_true",
                   help="print JSON (one object; a list when several answers are asked for)")
    p.set_defaults(func=run)


def _parse_counts(text: str) -> np.ndarray:
    parts = [t.strip() for t in text.split(",")]
    try:
        values = [float(t) for t in parts]
    except ValueError:
        raise UsageError(f"--prior-counts must be comma-separated numbers, got {text!r}") from None
    return theory.prior_from_counts(values)


def _uniform_answer(k: int, accuracy: float) -> dict[str, Any]:
    check_num_classes(k)  # eq. 4 in closed form: no array of K entries, so any K answers at once
    d = 1.0 - accuracy
    return {
        "source": f"K={k} uniform", "num_classes": k, "accuracy": accuracy, "distortion": d,
        "rate_bits": float(theory.uniform_rate(k, d)), "method": "closed-form",
        "linear_approximation_bits": float(theory.linear_rate_approximation(k, d)),
        "accuracy_per_bit": float(theory.accuracy_per_bit(k)),
    }


def _prior_answer(prior: np.ndarray, accuracy: float) -> dict[str, Any]:
    d = 1.0 - accuracy
    point = theory.rate_at_distortion(prior, d)
    k = int(prior.size)
    return {
        "source": f"K={k} prior", "num_classes": k, "accuracy": accuracy, "distortion": d,
        "rate_bits": point.rate_bits, "method": "blahut-arimoto",
        "rate_lower_bits": point.rate_lower_bits, "rate_upper_bits": point.rate_upper_bits,
        "bracket_bits": point.gap_bits, "slope_bits": point.slope, "iterations": point.iterations,
        "uniform_rate_bits": float(theory.uniform_rate(k, d)),
        "entropy_bits": theory.entropy_bits(prior),
        "linear_approximation_bits": float(theory.linear_rate_approximation(k, d)),
        "accuracy_per_bit": float(theory.accuracy_per_bit(k)),
    }


def _read_confusion(path: Path) -> tuple[list[list[int]], str]:
    """A confusion matrix from a JSON file: the matrix itself or a result record holding one."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None
    if isinstance(raw, dict):
        task = raw.get("task_model")
        if not isinstance(task, dict):
            raise UsageError(f"{path}: neither a confusion matrix nor a result record")
        if task.get("confusion") is None:
            raise UsageError(f"{path}: no model-aware bound (record has no confusion matrix)")
        return task["confusion"], f"task model {task.get('id', '?')} of {path.name}"
    return raw, path.name


def _model_aware_answer(path: Path, accuracy: float) -> dict[str, Any]:
    confusion, source = _read_confusion(path)
    src = model_aware.indirect_source(confusion)
    point = model_aware.model_aware_point(accuracy, src.confusion, tol=1e-9)
    reachable = point.method != "unreachable"
    ra = theory.bound_bits(accuracy, src.label_counts)
    return {
        "source": f"model-aware, {source}", "num_classes": src.num_classes, "samples": src.samples,
        "accuracy": accuracy, "distortion": 1.0 - accuracy, "method": f"model-aware/{point.method}",
        "rate_bits": point.rate_bits if reachable else None,
        "rate_lower_bits": point.rate_lower_bits if reachable else None,
        "rate_upper_bits": point.rate_upper_bits if reachable else None,
        "ra_bound_bits": ra, "classifier_bits": max(point.rate_bits - ra, 0.0) if reachable else None,
        "raw_accuracy": src.raw_accuracy, "bayes_accuracy": src.bayes_accuracy,
    }


def _detection_answer(args: argparse.Namespace, accuracy: float) -> dict[str, Any]:
    if args.positions is None or args.max_objects is None or not args.classes or len(args.classes) != 1:
        raise UsageError("--detection needs --positions P, one --classes C and --max-objects N")
    if args.prior_counts is not None:
        raise UsageError("--detection does not take --prior-counts")
    count = theory.detection_configurations(args.positions, args.classes[0], args.max_objects)
    if count < 2:
        raise UsageError("this detection setup has a single configuration: nothing to code")
    d = 1.0 - accuracy
    answer: dict[str, Any] = {
        "source": f"detection P={args.positions} C={args.classes[0]} N={args.max_objects}",
        "positions": args.positions, "classes": args.classes[0], "max_objects": args.max_objects,
        "configurations": str(count), "log2_configurations": theory.log2_int(count),
        "accuracy": accuracy, "distortion": d, "rate_bits": float(theory.uniform_rate(count, d)),
        "method": "configuration-count",
    }
    size = _size(args)
    if size is not None:
        answer["width"], answer["height"] = size
        answer["bits_per_pixel"] = theory.bits_per_pixel(answer["rate_bits"], *size)
    return answer


def _size(args: argparse.Namespace) -> tuple[int, int] | None:
    if args.width is None and args.height is None:
        return None
    if args.width is None or args.height is None:
        raise UsageError("give both --width and --height (or neither)")
    if args.width < 1 or args.height < 1:
        raise UsageError(f"the image size must be positive, got {args.width}x{args.height}")
    return args.width, args.height


def _scientific(log2_value: float) -> str:
    """K ≈ m·10^e from log2 K, for counts too large for a float."""
    exponent = log2_value * math.log10(2.0)
    e = math.floor(exponent)
    return f"{10 ** (exponent - e):.3f}e{e:+d}"


def _describe(a: dict[str, Any]) -> str:
    if a["method"].startswith("model-aware/"):
        head = (f"{a['source']} ({a['samples']} samples, K={a['num_classes']}; raw accuracy "
                f"{a['raw_accuracy']:.4f}, best reachable by any code of its output "
                f"{a['bayes_accuracy']:.4f})")
        if a["rate_bits"] is None:
            return (f"{head}: {100 * a['accuracy']:.4g}% accuracy is beyond what any code of this "
                    f"classifier's output reaches (RA bound of its labels: {a['ra_bound_bits']:.4f} "
                    "bits/sample)")
        return (f"{head} at {100 * a['accuracy']:.4g}% accuracy: R = {a['rate_bits']:.4f} bits/sample "
                f"({a['method'].split('/', 1)[1]}); RA bound of the same labels {a['ra_bound_bits']:.4f}, "
                f"so the classifier costs +{a['classifier_bits']:.4f} bits/sample")
    if a["method"] == "configuration-count":
        line = (f"{a['source']}: K = {_scientific(a['log2_configurations'])} configurations "
                f"(log2 K = {a['log2_configurations']:.4f}); at {100 * a['accuracy']:.4g}% accuracy "
                f"R = {a['rate_bits']:.4f} bits/image (configuration count, eq. 7 + eq. 4)")
        if "bits_per_pixel" in a:
            line += f" = {a['bits_per_pixel']:.6g} bits/pixel at {a['width']}x{a['height']}"
        return line
    how = "closed form, eq. 4" if a["method"] == "closed-form" else (
        f"Blahut–Arimoto, R in [{a['rate_lower_bits']:.10f}, {a['rate_upper_bits']:.10f}]; "
        f"uniform K={a['num_classes']}: {a['uniform_rate_bits']:.4f}")
    return (f"{a['source']} at {100 * a['accuracy']:.4g}% accuracy: R = {a['rate_bits']:.4f} bits/sample "
            f"({how}). Eq. 5 approximation A·log2 K = {a['linear_approximation_bits']:.4f} bits; "
            f"slope (eq. 6) {a['accuracy_per_bit']:.4f} accuracy/bit")


def run(args: argparse.Namespace) -> int:
    if args.accuracy is not None:
        theory.bounds.check_accuracy(args.accuracy)
    if any(k < 2 for k in args.classes or []) and not args.detection:
        raise UsageError(f"--classes must be at least 2, got {min(args.classes)}")
    if args.confusion is not None:
        return _run_model_aware(args)
    if args.detection:
        if args.plot is not None:
            raise UsageError("--plot draws classification curves; drop --detection")
        answers = [_detection_answer(args, 1.0 if args.accuracy is None else args.accuracy)]
    else:
        if args.width is not None or args.height is not None:
            _size(args)
        prior = _parse_counts(args.prior_counts) if args.prior_counts is not None else None
        if prior is not None and args.classes and args.plot is None:
            wrong = [k for k in args.classes if k != prior.size]
            if wrong:
                raise UsageError(f"--classes {wrong[0]} does not match the {prior.size} prior counts")
        if args.plot is not None:
            if not args.classes and prior is None:
                raise UsageError("--plot needs --classes K and/or --prior-counts to draw")
            _plot(args.plot, args.classes or [], prior, args.accuracy)
        if args.accuracy is None:
            if args.plot is None:
                raise UsageError("give --accuracy A (and --classes K or --prior-counts), or --plot FILE")
            print(json.dumps({"plot": str(args.plot)}) if args.json else f"wrote {args.plot}")
            return 0
        if prior is not None:
            answers = [_prior_answer(prior, args.accuracy)]
            if args.plot is not None:
                answers += [_uniform_answer(k, args.accuracy) for k in args.classes or []]
        elif args.classes:
            answers = [_uniform_answer(k, args.accuracy) for k in args.classes]
        else:
            raise UsageError("give --classes K or --prior-counts C1,C2,... with --accuracy")
    if args.json:
        print(json.dumps(answers[0] if len(answers) == 1 else answers, indent=2))
    else:
        for a in answers:
            print(_describe(a))
        if args.plot is not None:
            print(f"wrote {args.plot}")
    return 0


def _run_model_aware(args: argparse.Namespace) -> int:
    """`--confusion`: the model-aware bound at --accuracy and/or its curve beside the RA bound (--plot)."""
    if args.detection or args.prior_counts is not None or args.classes:
        raise UsageError("--confusion takes no --classes, --prior-counts or --detection")
    if args.accuracy is None and args.plot is None:
        raise UsageError("give --accuracy A and/or --plot FILE with --confusion")
    if args.plot is not None:
        _plot_model_aware(args.plot, args.confusion, args.accuracy)
    if args.accuracy is None:
        print(json.dumps({"plot": str(args.plot)}) if args.json else f"wrote {args.plot}")
        return 0
    answer = _model_aware_answer(args.confusion, args.accuracy)
    print(json.dumps(answer, indent=2) if args.json else _describe(answer))
    if args.plot is not None and not args.json:
        print(f"wrote {args.plot}")
    return 0


def _plot_model_aware(path: Path, confusion_file: Path, accuracy: float | None) -> None:
    """The model-aware curve of a classifier beside the RA bound of the same labels."""
    if not path.parent.exists():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")
    confusion, source = _read_confusion(confusion_file)
    src = model_aware.indirect_source(confusion)
    acc_m, rate_m = model_aware.model_aware_curve(src.confusion)
    acc_r, rate_r = theory.accuracy_rate_curve(src.label_counts)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(rate_r, acc_r, color="black", lw=2, label="RA bound of the test labels")
    ax.plot(rate_m, acc_m, color="C3", lw=1.5, label=f"model-aware bound ({source})")
    ax.axhline(src.bayes_accuracy, color="C3", lw=0.8, ls="--")
    _finish(fig, ax, path, accuracy, "rate-accuracy bound and the model-aware bound")


def _plot(path: Path, ks: list[int], prior: np.ndarray | None, accuracy: float | None) -> None:
    """Accuracy against bits/sample like the paper's Fig. 2 (uniform K) and Fig. 3 (a prior vs uniform)."""
    if not path.parent.exists():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for i, k in enumerate(sorted(set(ks))):
        acc, rate = theory.uniform_curve(k)
        ax.plot(rate, acc, color=f"C{i % 10}", lw=1.5, label=f"K={k}, uniform")
    if prior is not None:
        acc, rate = theory.accuracy_rate_curve(prior)
        ax.plot(rate, acc, color="black", lw=2, label=f"K={prior.size}, given prior")
        acc_u, rate_u = theory.accuracy_rate_curve(theory.uniform_prior(prior.size))
        ax.plot(rate_u, acc_u, color="grey", lw=1, ls="--", label=f"K={prior.size}, uniform")
    _finish(fig, ax, path, accuracy, "rate-accuracy bound")


def _finish(fig: Any, ax: Any, path: Path, accuracy: float | None, title: str) -> None:
    """The target-accuracy line, axes, legend, and the file written (a write error is one line)."""
    import matplotlib.pyplot as plt

    if accuracy is not None:
        ax.axhline(accuracy, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("bits per sample")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None
    finally:
        plt.close(fig)
