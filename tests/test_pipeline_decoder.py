"""The decoder gets nothing but the bytes: a separately constructed and prepared codec instance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pytest

from conftest import OracleTask, make_toy_dataset
from vcmbench.api.codec import BlockCodec, CodecContext, SampleCodec
from vcmbench.errors import BitstreamError
from vcmbench.pipeline.evaluate import evaluate_point


class ShapeFromEncoder(SampleCodec):
    """Sends raw pixels without their shape: only a decoder that reads the encoder's memory works."""

    name = "t-shape-from-encoder"
    decodes_to = "input"

    def encode(self, x: Any) -> bytes:
        x = np.asarray(x, dtype=np.uint8)
        self._shape = x.shape  # encoder state the bitstream does not carry
        return x.tobytes()

    def decode(self, data: bytes) -> Any:
        return np.frombuffer(data, dtype=np.uint8).reshape(self._shape)


class KeyedXor(BlockCodec):
    """Labels XOR a key both sides derive in prepare() from the shared context: legitimately shared."""

    name = "t-keyed-xor"
    decodes_to = "label"
    instances: ClassVar[list[tuple[str, int]]] = []

    def prepare(self, ctx: CodecContext) -> None:
        self.key = (ctx.seed * 7 + 3) % 256
        self.task = ctx.task_model

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        type(self).instances.append(("encode", id(self)))
        return bytes(int(v) ^ self.key for v in self.task.predict(xs))

    def decode_block(self, data: bytes) -> list[int]:
        type(self).instances.append(("decode", id(self)))
        if not hasattr(self, "key"):
            raise BitstreamError("decoder was not prepared")
        return [b ^ self.key for b in data]


class ChecksumIdentity(KeyedXor):
    """Each prepared instance claims a different artifact: encoder and decoder would disagree."""

    name = "t-checksum-identity"
    prepared = 0

    def prepare(self, ctx: CodecContext) -> None:
        super().prepare(ctx)
        type(self).prepared += 1
        self.n = type(self).prepared

    def identity(self) -> dict[str, Any]:
        return {"checkpoint": {"sha256": f"{self.n:064x}"}}


def _evaluate(codec, tmp_path, seed=0):
    dataset = make_toy_dataset(n=12)
    task = OracleTask()
    ctx = CodecContext(task_model=task, train=None, num_classes=4, seed=seed)
    return evaluate_point(codec, dataset, task, suite="toy", reference_accuracy=1.0,
                          out_path=tmp_path / "r.json", codec_context=ctx, batch_size=5, progress=False)


def test_a_decoder_that_reads_encoder_state_fails(tmp_path):
    record = _evaluate(ShapeFromEncoder(), tmp_path)
    assert record.status == "failed"
    assert "_shape" in record.error


@pytest.mark.parametrize("seed", [0, 5])
def test_the_decoder_is_another_instance_prepared_on_its_own(tmp_path, seed):
    KeyedXor.instances.clear()
    record = _evaluate(KeyedXor(), tmp_path, seed)
    assert record.status == "ok", record.error
    assert record.metrics.accuracy == 1.0
    encoders = {i for kind, i in KeyedXor.instances if kind == "encode"}
    decoders = {i for kind, i in KeyedXor.instances if kind == "decode"}
    assert len(encoders) == len(decoders) == 1 and encoders != decoders


def test_encoder_and_decoder_must_load_the_same_artifact(tmp_path):
    ChecksumIdentity.prepared = 0
    record = _evaluate(ChecksumIdentity(), tmp_path)
    assert record.status == "failed" and "different artifacts" in record.error
