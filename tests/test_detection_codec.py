"""The `detections` codec: what it sends, what it decodes to, what it counts, and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

import vcmbench.codecs.detections as detections_module
from coco_fixture import write_coco_fixture
from conftest import OracleTask
from vcmbench.api.codec import CodecContext
from vcmbench.api.dataset import Detections
from vcmbench.api.record import validate
from vcmbench.api.task import TaskContext
from vcmbench.codecs.detections import SIZE_OCTAVES, DetectionsCodec
from vcmbench.datasets.coco import CocoDataset, coco
from vcmbench.errors import BitstreamError, UsageError
from vcmbench.pipeline.evaluate import evaluate_point, reference_result
from vcmbench.tasks.yolo import Yolo


class TableDetector(Yolo):
    """A detector without a network: image i (its pixel [0, 0, 0] = i) has the detections of row i."""

    def __init__(self, table: list[Detections], categories: tuple[str, ...], **params):
        super().__init__(**params)
        self.table = table
        self.categories = categories
        self.params["classes"] = len(categories)
        self.params["imgsz"] = 64
        self.model = object()

    def prepare(self, ctx: TaskContext) -> None:
        return None

    def detect(self, images):
        return [self.table[int(np.asarray(x)[0, 0, 0])] for x in images]


def images(n: int) -> list[np.ndarray]:
    out = []
    for i in range(n):
        x = np.full((6, 8, 3), 50, dtype=np.uint8)
        x[0, 0, 0] = i
        out.append(x)
    return out


def random_detections(rng: np.random.Generator, n: int, classes: int = 5) -> list[Detections]:
    table = []
    for _ in range(n):
        k = int(rng.integers(0, 9))
        x0, y0 = rng.uniform(0, 0.7, k), rng.uniform(0, 0.7, k)
        w, h = rng.uniform(0.03, 0.3, k), rng.uniform(0.03, 0.3, k)
        boxes = np.stack([x0, y0, x0 + w, y0 + h], axis=1)
        table.append(Detections(boxes, rng.integers(0, classes, k), rng.uniform(0, 1, k)))
    return table


def ready(codec: DetectionsCodec, task) -> DetectionsCodec:
    codec.prepare(CodecContext(task_model=task, train=None, num_classes=2))
    return codec


@pytest.fixture
def setup():
    table = random_detections(np.random.default_rng(0), 40)
    return table, TableDetector(table, ("a", "b", "c", "d", "e"))


@pytest.mark.parametrize("grid", [4, 16, 64])
def test_decoded_objects_are_the_sent_ones_within_the_grid(setup, grid):
    table, task = setup
    enc = ready(DetectionsCodec(grid=grid, threshold=0.3, max_objects=5), task)
    dec = ready(DetectionsCodec(grid=grid, threshold=0.3, max_objects=5), task)
    out = dec.decode_block(enc.encode_block(images(40)))
    step = SIZE_OCTAVES / (grid - 1)  # size levels are this many octaves apart
    for det, got in zip(table, out, strict=True):
        order = np.argsort(-det.scores, kind="stable")
        sent = order[det.scores[order] >= 0.3][:5]
        assert len(got) == len(sent)
        assert got.classes.tolist() == det.classes[sent].tolist()
        assert np.allclose(got.scores, 1 - 0.001 * np.arange(len(sent)))
        b, g = det.boxes[sent], got.boxes
        centre = lambda z: np.stack([(z[:, 0] + z[:, 2]) / 2, (z[:, 1] + z[:, 3]) / 2], axis=1)  # noqa: E731
        size = lambda z: np.stack([z[:, 2] - z[:, 0], z[:, 3] - z[:, 1]], axis=1)  # noqa: E731
        unclipped = (g > 0).all(axis=1) & (g < 1).all(axis=1)  # clipping at the edge moves a centre
        assert np.all(np.abs(centre(g) - centre(b))[unclipped] <= 0.5 / grid + 1e-9)
        ratio = np.abs(np.log2(size(g)[unclipped] / size(b)[unclipped]))
        assert np.all(ratio <= step / 2 + 1e-9)


def test_finer_grids_cost_more_bits(setup):
    _, task = setup
    sizes = [len(ready(DetectionsCodec(grid=g), task).encode_block(images(40))) for g in (4, 8, 16, 32, 64)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_the_estimate_is_the_payload_without_the_coder_overhead(setup):
    _, task = setup
    codec = ready(DetectionsCodec(grid=16), task)
    real = 8 * len(codec.encode_block(images(40)))
    estimate = codec.estimate_bits(images(40))
    # four ANS streams, each with its 24-bit start state and a partial last byte, plus a few varints
    assert estimate <= real <= estimate + 4 * 32 + 5 * 8


def test_nothing_to_send_costs_almost_nothing(setup):
    _, task = setup
    codec = ready(DetectionsCodec(grid=16, threshold=1.0), task)
    stream = codec.encode_block(images(40))
    assert len(stream) <= 12
    assert all(len(d) == 0 for d in ready(DetectionsCodec(grid=16, threshold=1.0), task).decode_block(stream))


def test_damaged_streams_are_refused(setup):
    _, task = setup
    codec = ready(DetectionsCodec(grid=16), task)
    stream = codec.encode_block(images(40))
    dec = ready(DetectionsCodec(grid=16), task)
    for bad in (stream[: len(stream) // 2], stream[:3], b"", b"\x00", b"\xff\xff\xff\xff\x7f" + stream[1:],
                stream[:1] + b"\x7f" + stream[2:]):
        with pytest.raises(BitstreamError):
            dec.decode_block(bad)


def test_parameters_and_operating_points():
    points = DetectionsCodec.operating_points()
    assert len(points) >= 4 and {p.get("grid") for p in points} >= {4, 8, 16, 32}
    for bad in ({"grid": 1}, {"grid": 2.5}, {"threshold": 1.5}, {"max_objects": 0}, {"block_size": 0}):
        with pytest.raises(UsageError):
            DetectionsCodec(**bad)


def test_it_needs_a_detector():
    with pytest.raises(UsageError, match="needs a detector"):
        ready(DetectionsCodec(), OracleTask())


def test_measured_on_a_coco_split_with_perfect_detections(tmp_path):
    ds = coco("val", write_coco_fixture(tmp_path / "coco"))
    truth = ds.targets(range(len(ds)))
    task = TableDetector([Detections(t.boxes, t.classes, np.full(len(t), 0.9)) for t in truth],
                         ds.info.categories, grid=4)
    # the detector looks images up by pixel [0, 0, 0]: give each image its index there
    originals = ds.inputs(range(len(ds)))
    marked = []
    for i, x in enumerate(originals):
        y = x.copy()
        y[0, 0, 0] = i
        marked.append(y)
    ds = CocoDataset(ds.index, ds.info, lambda i: marked[i])
    ref = reference_result(task, ds, 4)
    assert ref.accuracy == 1.0 and ref.scores["mAP@[.5:.95]"] == pytest.approx(1.0)
    ctx = CodecContext(task_model=task, train=None, num_classes=ds.info.num_classes)
    fine = evaluate_point(DetectionsCodec(grid=64), ds, task, suite="t", reference_accuracy=ref.accuracy,
                          out_path=tmp_path / "fine.json", codec_context=ctx, progress=False)
    coarse = evaluate_point(DetectionsCodec(grid=2), ds, task, suite="t", reference_accuracy=ref.accuracy,
                            out_path=tmp_path / "coarse.json", codec_context=ctx, progress=False)
    for r in (fine, coarse):
        assert r.status == "ok", r.error
        assert validate(r.to_dict()) == []
        assert r.task_model.metric == "mAP@[.5:.95]"
        assert r.task_model.reference_scores == pytest.approx(ref.scores)
        assert r.codec.decodes_to == "label"
    # a 64-cell grid keeps every 4-cell configuration; a 2-cell grid does not, and boxes suffer
    assert fine.metrics.accuracy == 1.0
    assert coarse.metrics.accuracy < 1.0
    assert coarse.metrics.scores["mAP@[.5:.95]"] < fine.metrics.scores["mAP@[.5:.95]"]
    assert coarse.metrics.bits_total < fine.metrics.bits_total
    rows = (tmp_path / "fine.samples.csv").read_text().splitlines()
    assert rows[0] == "id,bits,objects,detections,correct"
    assert [r.split(",")[2] for r in rows[1:]] == [r.split(",")[3] for r in rows[1:]]


def test_the_module_registers_its_codec():
    from vcmbench.api.codec import CODECS

    assert CODECS.get("detections") is detections_module.DetectionsCodec
