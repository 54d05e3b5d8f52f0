"""entropic-student-ans: per-sample streams on the shipped checkpoints, within a byte of the information."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from test_learned_codecs import TINY, context, synthetic_digits
from vcmbench.api.codec import CODECS, CodecContext
from vcmbench.api.dataset import DATASETS, Dataset
from vcmbench.codecs.learned.student import EntropicStudentBlockCodec
from vcmbench.codecs.learned.student_ans import EntropicStudentAnsCodec
from vcmbench.errors import BitstreamError, UsageError


@pytest.fixture(scope="module")
def mnist() -> tuple[Dataset, Dataset]:
    factory = DATASETS.get("mnist")
    return factory("train", None), factory("test", None)


def prepared(cls: type, train: Dataset, cache: Path, **params) -> EntropicStudentAnsCodec:
    codec = cls(**params)
    codec.prepare(CodecContext(task_model=None, train=train, num_classes=10, cache_dir=cache))
    return codec


def test_registered_as_a_per_sample_label_codec_on_the_student_grid() -> None:
    cls = CODECS.get("entropic-student-ans")
    assert cls is EntropicStudentAnsCodec and cls.granularity == "sample" and cls.decodes_to == "label"
    assert cls.operating_points() == CODECS.get("entropic-student").operating_points()


def test_streams_round_trip_through_a_separate_decoder_within_a_byte_of_framing(
        mnist: tuple[Dataset, Dataset], tmp_path: Path) -> None:
    train, test = mnist
    images = test.inputs(range(300))
    encoder = prepared(EntropicStudentAnsCodec, train, tmp_path / "enc", beta=128)
    decoder = prepared(EntropicStudentAnsCodec, train, tmp_path / "dec", beta=128)
    assert encoder.identity()["symbol_table_sha256"] == decoder.identity()["symbol_table_sha256"]
    assert encoder.table.freqs.tolist() == decoder.table.freqs.tolist()
    streams = encoder.encode_batch(images)
    indexes = encoder.indexes(images)
    assert [decoder.table.decode(s) for s in streams] == indexes
    # Decoded labels are the labels the same checkpoint gives through compressai's block stream.
    block = prepared(EntropicStudentBlockCodec, train, tmp_path / "blk", beta=128)
    assert decoder.decode_batch(streams) == block.decode_block(block.encode_block(images))
    assert [decoder.decode(s) for s in streams[:20]] == decoder.decode_batch(streams[:20])
    assert encoder.encode(images[0]) == streams[0]
    # Framing: each stream is the shortest whole-byte one, under a byte above −log2 p of its index.
    info = [encoder.table.information_bits(k) for k in indexes]
    for data, bits in zip(streams, info, strict=True):
        assert len(data) <= math.ceil(bits / 8 - 1e-9)
    total = sum(8 * len(s) for s in streams)
    assert sum(info) <= total + 1e-6 < sum(info) + 8 * len(streams)
    assert encoder.estimate_bits(images) == pytest.approx(sum(info))


def test_forged_streams_give_a_one_line_error(mnist: tuple[Dataset, Dataset], tmp_path: Path) -> None:
    train, _ = mnist
    codec = prepared(EntropicStudentAnsCodec, train, tmp_path, beta=16)
    canonical = {codec.table.encode(k) for k in range(len(codec.table))}
    spare = [bytes([v]) for v in range(256) if bytes([v]) not in canonical]
    forged = [bytes(5), b"\x00", *spare[:3]]
    for data in forged:
        with pytest.raises(BitstreamError) as err:
            codec.decode(data)
        assert "\n" not in str(err.value)


def test_refuses_vector_latents_and_unprepared_use(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        EntropicStudentAnsCodec(beta=4.0, latent="vector")
    with pytest.raises(UsageError, match="not prepared"):
        EntropicStudentAnsCodec(beta=4.0).encode_batch([])


@pytest.mark.parametrize("index_ce", [0.0, 4.0])
def test_works_on_a_freshly_trained_tiny_student(tmp_path: Path, index_ce: float) -> None:
    train, test = synthetic_digits(96, "train"), synthetic_digits(24, "test", seed=1)
    codec = EntropicStudentAnsCodec(beta=4.0, index_ce=index_ce, **TINY)
    codec.prepare(context(train, tmp_path))
    streams = codec.encode_batch(test.inputs(range(24)))
    assert all(len(s) <= 3 for s in streams)
    assert codec.decode_batch(streams) == codec.labels_of(codec.indexes(test.inputs(range(24))))


def test_index_ce_names_its_own_checkpoints_and_leaves_the_shipped_names_alone(
        mnist: tuple[Dataset, Dataset], tmp_path: Path) -> None:
    train, _ = mnist
    ctx = CodecContext(task_model=None, train=train, num_classes=10, cache_dir=tmp_path)
    plain = EntropicStudentBlockCodec(beta=16).checkpoint_config(ctx)
    assert "index_ce" not in plain["params"]  # at its default: the configuration (and file name) as before
    tied = EntropicStudentBlockCodec(beta=16, index_ce=16).checkpoint_config(ctx)
    assert tied["params"]["index_ce"] == 16
    with pytest.raises(UsageError):
        EntropicStudentBlockCodec(beta=16, index_ce=-1)
    with pytest.raises(UsageError):
        EntropicStudentBlockCodec(beta=16, index_ce=1, latent="vector")


def test_index_ce_needs_a_codeword_per_class(tmp_path: Path) -> None:
    train = synthetic_digits(96, "train")
    codec = EntropicStudentAnsCodec(beta=4.0, index_ce=4.0, **{**TINY, "codewords": 3})
    with pytest.raises(UsageError, match="codewords"):
        codec.prepare(context(train, tmp_path))


def test_index_ce_as_int_or_float_finds_the_same_checkpoint(
        mnist: tuple[Dataset, Dataset], tmp_path: Path) -> None:
    train, _ = mnist
    ctx = CodecContext(task_model=None, train=train, num_classes=10, cache_dir=tmp_path)
    point = {"beta": 128, "codewords": 10, "width": 32, "epochs": 40}
    as_int = EntropicStudentBlockCodec(**point, index_ce=128).checkpoint_config(ctx)
    assert as_int == EntropicStudentBlockCodec(**point, index_ce=128.0).checkpoint_config(ctx)


def test_block_stream_costs_the_indexes_information_plus_a_few_bytes(
        mnist: tuple[Dataset, Dataset], tmp_path: Path) -> None:
    from vcmbench.codecs.learned.student_ans import EntropicStudentAnsBlockCodec
    from vcmbench.entropy.framing import write_varint

    train, test = mnist
    images = test.inputs(range(400))
    point = {"beta": 128, "codewords": 10, "width": 32, "epochs": 40, "index_ce": 128}
    encoder = prepared(EntropicStudentAnsBlockCodec, train, tmp_path / "enc", **point)
    decoder = prepared(EntropicStudentAnsBlockCodec, train, tmp_path / "dec", **point, block_size=400)
    per_sample = prepared(EntropicStudentAnsCodec, train, tmp_path / "one", **point)
    data = encoder.encode_block(images)
    assert decoder.decode_block(data) == per_sample.decode_batch(per_sample.encode_batch(images))
    info = sum(encoder.table.information_bits(k) for k in encoder.indexes(images))
    # the count, the ANS start state (24 bits) and rounding to whole bytes: 6 bytes at most
    assert 8 * len(data) <= info + 8 * len(write_varint(400)) + 48
    for damaged in (data[:-3], write_varint(399) + data[2:], write_varint(401) + data[2:], b""):
        with pytest.raises(BitstreamError) as err:
            decoder.decode_block(damaged)
        assert "\n" not in str(err.value)
