"""Ranked predictions: a classifier may return its k most likely classes (label first), and records then
carry top-5 accuracy beside the accuracy, computed from the same predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vcmbench.api.dataset import ArrayDataset, DatasetInfo
from vcmbench.api.task import TaskContext, TaskModel
from vcmbench.pipeline.evaluate import CodecFailure, collect_predictions, confusion_matrix, evaluate_point
from vcmbench.tasks.memo import memoising

K = 10
LABELS = np.array([0, 1, 2, 3, 4, 5, 6, 7])
SHIFTS = [0, 1, 2, 3, 0, 1, 2, 3]  # how far each sample's pixel is from its label


def dataset() -> ArrayDataset:
    info = DatasetInfo(id="t-ranked", split="test", num_classes=K, fingerprint="f" * 16)
    # Each "image" holds the class a model should rank first, shifted by its index (a deterministic toy).
    inputs = np.array([[[(y + SHIFTS[i]) % K]] for i, y in enumerate(LABELS)], dtype=np.uint8)
    return ArrayDataset(info, inputs, LABELS)


class Ranker(TaskModel):
    """Ranks classes by distance from the pixel value: the pixel's class first, then its neighbours."""

    ranks = 5
    calls: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.calls = []

    def predict(self, inputs):
        self.calls.append(len(inputs))
        first = np.array([int(np.asarray(x).ravel()[0]) for x in inputs])
        return np.stack([(first + d) % K for d in (0, 1, -1, 2, -2)], axis=1)


def test_top5_counts_a_label_anywhere_in_the_first_five_and_accuracy_the_first():
    model, ds = Ranker(), dataset()
    ranked = model.predict(ds.inputs(range(len(ds))))
    # The label is pixel − shift: first at shift 0, among the five (offsets 0, ±1, ±2) up to shift 2.
    assert model.correct(ds, ranked).tolist() == [s == 0 for s in SHIFTS]
    in_five = [s in (0, 1, 2) for s in SHIFTS]
    assert model.scores(ds, ranked) == {"top5": pytest.approx(np.mean(in_five))}
    assert model.prediction_labels(ranked).tolist() == ranked[:, 0].tolist()
    # A label codec's decoded labels (one per sample) have no top-5.
    assert model.scores(ds, ranked[:, 0]) == {}


def test_ranked_batches_join_in_order_and_never_mix_with_single_labels():
    model = Ranker()
    a, b = np.arange(10).reshape(2, 5), np.arange(10, 25).reshape(3, 5)
    assert collect_predictions(model, [a, b]).tolist() == np.concatenate([a, b]).tolist()
    with pytest.raises(CodecFailure):
        collect_predictions(model, [a, np.array([1, 2])])


def test_the_confusion_matrix_counts_the_first_class():
    model, ds = Ranker(), dataset()
    ranked = model.predict(ds.inputs(range(len(ds))))
    confusion = confusion_matrix(model, ds, ranked, model.correct(ds, ranked))
    assert confusion is not None
    assert sum(confusion[i][i] for i in range(K)) == int(model.correct(ds, ranked).sum())
    assert [sum(row) for row in confusion] == np.bincount(LABELS, minlength=K).tolist()


def test_memoised_ranked_predictions_are_rows_asked_once_per_distinct_input():
    model = memoising(Ranker)()
    ds = dataset()
    xs = ds.inputs(range(len(ds)))
    first = model.predict(xs)
    again = model.predict(list(xs) + list(xs[:2]))
    assert first.shape == (len(xs), 5) and again.shape == (len(xs) + 2, 5)
    assert again[: len(xs)].tolist() == first.tolist() and again[len(xs):].tolist() == first[:2].tolist()
    distinct = len({x.tobytes() for x in xs})
    assert sum(model.calls) == distinct


def test_a_point_of_a_ranking_model_records_top5(tmp_path: Path):
    from vcmbench.api.codec import CodecContext
    from vcmbench.codecs.passthrough import PassthroughCodec

    model, ds = memoising(Ranker)(), dataset()
    model.prepare(TaskContext(train=None, cache_dir=tmp_path))
    record = evaluate_point(PassthroughCodec(), ds, model, suite="t", reference_accuracy=0.25,
                            out_path=tmp_path / "r.json", codec_context=CodecContext(model, None, K),
                            batch_size=3, progress=False)
    assert record.status == "ok", record.error
    assert record.metrics.accuracy == pytest.approx(2 / 8)
    assert record.metrics.scores["top5"] == pytest.approx(6 / 8)


def test_resnet_ranks_like_argmax_first():
    import torch

    from vcmbench.tasks.torchvision_models import _top

    logits = torch.tensor([[0.1, 0.9, 0.9, 0.0, 0.5, 0.2], [3.0, 1.0, 2.0, 0.0, -1.0, 5.0]])
    top = _top(logits, 5)
    assert top[:, 0].tolist() == logits.argmax(1).tolist()  # ties: the lowest index, as argmax
    assert top.tolist() == [[1, 2, 4, 5, 0], [5, 0, 2, 1, 3]]
    assert _top(logits[:, :3], 5).shape == (2, 3)  # fewer classes than ranks: all of them
