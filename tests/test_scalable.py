"""The scalable MNIST codecs: real layers, every prefix decoded by a separately prepared decoder,
the enhancement conditioned on the base (except standalone), training only when allowed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import OracleTask
from vcmbench.api.codec import CodecContext
from vcmbench.api.dataset import ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.codecs import scalable
from vcmbench.datasets.mnist import open_embedded
from vcmbench.errors import BitstreamError, DataError
from vcmbench.pipeline.layered import evaluate_layered_point


def tiny_split(n: int, offset: int = 0, split: str = "train") -> ArrayDataset:
    """n real digits of the embedded set: enough to train one epoch in a blink."""
    data = open_embedded("train")
    idx = list(range(offset, offset + n))
    images = np.stack(data.inputs(idx))
    labels = data.labels()[idx]
    info = DatasetInfo(id="mnist-tiny", split=split, num_classes=10,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=784)
    return ArrayDataset(info, images, labels)


class ZeroTask(OracleTask):
    """Says 0 to every image: the tests here are about bytes and layers, not accuracy."""

    def predict(self, inputs):
        return np.zeros(len(inputs), dtype=np.int64)


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CodecContext:
    """One-epoch training on 64 digits, in a cache of the test's own (the checkpoint names change with it)."""
    for settings in (scalable.BASE_SETTINGS, scalable.ENH_SETTINGS, scalable.STANDALONE_SETTINGS):
        monkeypatch.setitem(settings, "epochs", 1)
    train = tiny_split(64)
    return CodecContext(task_model=None, train=train, num_classes=10, cache_dir=tmp_path / "cache",
                        allow_training=True, train_fingerprint=train.info.fingerprint)


@pytest.mark.parametrize("cls", [scalable.ScalableBaseline, scalable.ScalableProposed,
                                 scalable.ScalableStandalone])
def test_every_prefix_decodes_from_the_bytes_alone(quick: CodecContext, tmp_path: Path, cls) -> None:
    test = tiny_split(20, offset=100, split="test")
    record = evaluate_layered_point(cls(lmbda=4.0, block_size=8), test, ZeroTask(), suite="t",
                                    reference_accuracy=1.0, out_path=tmp_path / "p.json", codec_context=quick)
    assert record.status == "ok", record.error
    m = record.metrics
    assert [lay.name for lay in m.layers] == ["base", "enhancement"]
    assert m.bits_total == sum(lay.bits_total for lay in m.layers) and m.blocks == 3
    assert m.layers[1].scores["psnr"] > 0 and 0 < m.layers[1].scores["ssim"] <= 1
    assert set(record.codec.identity) == {"checkpoint", "base_checkpoint"}
    assert record.codec.identity["checkpoint"]["origin"] == "trained"


def encode_pair(codec: scalable.ScalableCodec, decoder: scalable.ScalableCodec, a, b):
    """(decode(base of a, enh of a), decode(base of b, enh of a)): the enhancement with a foreign base."""
    own = codec.encode_layers(a)
    other = codec.encode_layers(b)
    return decoder.decode_prefix(own), decoder.decode_prefix([other[0], own[1]])


@pytest.fixture(scope="module")
def shipped() -> CodecContext:
    """The embedded digits' training split, which the shipped checkpoints were trained on (no training)."""
    train = open_embedded("train")
    return CodecContext(task_model=None, train=train, num_classes=10, cache_dir=Path("/nonexistent-cache"),
                        train_fingerprint=train.info.fingerprint)


@pytest.mark.parametrize(("cls", "conditioned"), [(scalable.ScalableBaseline, True),
                                                  (scalable.ScalableProposed, True),
                                                  (scalable.ScalableStandalone, False)])
def test_the_enhancement_is_coded_with_the_base_as_side_information(shipped: CodecContext, cls,
                                                                   conditioned) -> None:
    encoder, decoder = cls(lmbda=4.0), cls(lmbda=4.0)
    encoder.prepare(shipped)
    decoder.prepare(shipped)
    test = open_embedded("test")
    a, b = test.inputs(range(16)), test.inputs(range(16, 32))
    right, foreign = encode_pair(encoder, decoder, a, b)
    labels = decoder.decode_prefix(encoder.encode_layers(a)[:1])
    assert all(isinstance(v, int) and 0 <= v < 10 for v in labels)
    assert all(r.dtype == np.uint8 and r.shape == (28, 28) for r in right)
    differs = any(not np.array_equal(x, y) for x, y in zip(right, foreign, strict=True))
    assert differs == conditioned  # standalone ignores the base; the others decode through it


def test_a_damaged_enhancement_layer_is_refused(shipped: CodecContext) -> None:
    codec = scalable.ScalableBaseline(lmbda=4.0)
    codec.prepare(shipped)
    base, enh = codec.encode_layers(tiny_split(8, offset=50).inputs(range(8)))
    damaged = enh[:-5] + bytes([enh[-5] ^ 0x40]) + enh[-4:]
    with pytest.raises(BitstreamError):
        codec.decode_prefix([base, damaged])
    with pytest.raises(BitstreamError):
        codec.decode_prefix([base, enh[:10]])
    short_base, _ = codec.encode_layers(tiny_split(4, offset=50).inputs(range(4)))
    with pytest.raises(BitstreamError, match="samples"):
        codec.decode_prefix([short_base, enh])


def test_no_training_unless_the_run_allows_it(quick: CodecContext, tmp_path: Path) -> None:
    from dataclasses import replace

    ctx = replace(quick, allow_training=False, cache_dir=tmp_path / "empty")
    with pytest.raises(DataError, match="--train"):
        scalable.ScalableProposed(lmbda=4.0).prepare(ctx)
    record = evaluate_layered_point(scalable.ScalableProposed(lmbda=4.0), tiny_split(4, split="test"),
                                    ZeroTask(), suite="t", reference_accuracy=1.0,
                                    out_path=tmp_path / "p.json", codec_context=ctx)
    assert record.status == "failed" and "--train" in record.error
    assert not (tmp_path / "empty").exists()


def test_the_default_grid_ships_for_the_embedded_digits(shipped: CodecContext) -> None:
    """`vcmbench run mnist-hm` trains nothing: every default point finds its shipped checkpoints."""
    ctx = shipped
    points = [cls(**p) for cls in (scalable.ScalableBaseline, scalable.ScalableProposed,
                                   scalable.ScalableStandalone) for p in cls.operating_points()]
    points += [scalable.ScalableBaseOnly(**p) for p in scalable.ScalableBaseOnly.operating_points()]
    for codec in points:
        codec.prepare(ctx)
        assert {v["origin"] for v in codec.identity().values()} == {"shipped"}, codec


def test_bad_parameters_are_refused() -> None:
    from vcmbench.errors import UsageError

    with pytest.raises(UsageError):
        scalable.ScalableProposed(lmbda=-1)
    with pytest.raises(UsageError):
        scalable.ScalableBaseOnly(variant="standalone")
    with pytest.raises(UsageError):
        scalable.ScalableBaseline(block_size=0)


def test_scale_indexes_are_compressais() -> None:
    import torch

    from vcmbench.codecs.scalable_net import EnhancementNet, scale_indexes, scale_table

    net = EnhancementNet(8, 8, 12, side_information=True)
    net.ready()
    table = torch.tensor(scale_table())
    scales = torch.cat([torch.rand(500) * 80, table, table * (1 + 1e-6), table * (1 - 1e-6), torch.zeros(3)])
    scales = scales.reshape(1, 1, 1, -1)
    assert torch.equal(scale_indexes(net.gaussian, scales), net.gaussian.build_indexes(scales))
