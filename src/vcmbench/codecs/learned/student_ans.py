"""The entropic student per sample without the 80-bit floor: its codeword index, range-coded alone.

``entropic-student`` sends each digit as a compressai string (a 64-bit coder flush plus a shape
header: 80 bits for a ~4-bit choice). This variant loads the same checkpoints (family
``entropic-student``, categorical latent) and sends only what the decoder needs: the index of
the chosen codeword. The index is coded with :class:`vcmbench.entropy.symbolcode.SymbolCode` over
an integer table made once from the checkpoint's learned distribution (the bottleneck's
likelihood of each codeword, evaluated in float64 and rounded to integers summing to 2^24):
the shortest whole-byte stream in the symbol's range-coder interval, decoded by constriction's
range decoder. No header: the latent's shape is fixed by the checkpoint. The likeliest codeword
travels as the empty stream, every other one in a byte (two for one rarer than 1/256), so a
sample costs less than one byte above the information −log2 p of its index.

Encoder and decoder are separate instances that compute the table from the same weights, so they
hold the same integers (its sha256 is part of the codec's identity in every record).

``entropic-student-ans-block`` codes a whole block's indexes in one ANS stream over the same
table: the block rate is then the indexes' cross-entropy under the learned distribution plus a
few bytes per block.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vcmbench.api.codec import BlockCodec, SampleCodec, register_codec
from vcmbench.codecs.learned.student import EntropicStudent
from vcmbench.errors import BitstreamError, DataError, UsageError

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from vcmbench.entropy.symbolcode import SymbolCode


def index_probabilities(model: nn.Module) -> np.ndarray:
    """The learned distribution of a categorical student's codeword index, in float64.

    The bottleneck's likelihood of the values k + offset (k = 0..K−1, channel 0) that
    ``StudentNet.encode`` sends, as training estimated its rate; a float64 copy of the
    bottleneck so the rounding of the float16 checkpoint weights is the only one involved.
    """
    import torch

    bottleneck = copy.deepcopy(model.bottleneck).double()
    with torch.no_grad():
        medians = bottleneck._get_medians().reshape(-1)
        offset = medians[0] - torch.round(medians[0])
        values = torch.arange(model.codewords, dtype=torch.float64) + offset
        grid = values.expand(int(bottleneck.channels), -1)[:, None, :]
        pmf, _, _ = bottleneck._likelihood(grid)
        if bottleneck.use_likelihood_bound:
            pmf = bottleneck.likelihood_lower_bound(pmf)
    return pmf[0, 0].numpy().astype("float64")


class IndexCoded(EntropicStudent):
    """The entropic student whose bitstream is its codeword indexes under the checkpoint's integer table."""

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.table: SymbolCode | None = None
        self._last_indexes: tuple[tuple[Any, ...], list[int]] | None = None

    def validate(self) -> None:
        super().validate()
        if self.settings["latent"] != "categorical":
            raise UsageError(f"{self.family}-ans codes a categorical latent (one codeword index); "
                             f"latent={self.settings['latent']!r} needs entropic-student")

    def attach(self, model: nn.Module) -> None:
        from vcmbench.entropy.symbolcode import SymbolCode, quantize

        super().attach(model)
        if not getattr(model, "codewords", 0):
            raise DataError("entropic-student-ans needs a categorical student (codeword index latent)")
        self.table = SymbolCode(quantize(index_probabilities(model)))
        self._last_indexes = None  # indexes chosen by other weights

    def identity(self) -> dict[str, Any]:
        """The checkpoint, plus the integer table's hash: the code the streams were made with."""
        found = super().identity()
        if self.table is not None:
            found["symbol_table_sha256"] = self.table.sha256()
        return found

    def _table(self) -> SymbolCode:
        if self.table is None or self.model is None:
            raise UsageError(f"{self.name}: not prepared (call prepare(ctx) to load the weights)")
        return self.table

    # -- coding --------------------------------------------------------------------------------
    def indexes(self, xs: Sequence[Any], *, keep: bool = False) -> list[int]:
        """The codeword each input's analysis transform chooses (argmax of its scores).

        As the base class does for latents, encoding keeps (``keep``) the batch's indexes until the
        next call, so the rate estimate the pipeline asks for next does not rerun g_a.
        """
        import torch

        from vcmbench.codecs.learned.base import CHUNK
        from vcmbench.training.inputs import to_image_batch

        self._table()
        items = tuple(xs)
        cached, self._last_indexes = getattr(self, "_last_indexes", None), None
        if cached is not None and len(cached[0]) == len(items) and all(
                a is b for a, b in zip(cached[0], items, strict=True)):
            return cached[1]
        out: list[int] = []
        with torch.no_grad():
            for i in range(0, len(items), CHUNK):
                batch = to_image_batch(items[i:i + CHUNK], self.settings["in_channels"])
                out.extend(int(k) for k in self.model.analysis(batch).argmax(1))
        if keep:
            self._last_indexes = (items, out)
        return out

    def labels_of(self, indexes: Sequence[int]) -> list[int]:
        """Decoder side: codeword → bridge g_s → the student's head → label."""
        import torch

        with torch.no_grad():
            index = torch.as_tensor(list(indexes), dtype=torch.long)
            logits = self.model.tail(self.model.bridge(self.model.codebook[index]))
        return [int(v) for v in logits.argmax(1)]

    def estimate_bits(self, inputs: Sequence[Any]) -> float | None:
        """Σ −log2 p(index) under the integer table: the information the streams carry."""
        table = self._table()
        return float(sum(table.information_bits(k) for k in self.indexes(inputs)))


@register_codec("entropic-student-ans")
class EntropicStudentAnsCodec(IndexCoded, SampleCodec):
    """One range-coded codeword index per sample, on the entropic student's checkpoints."""

    description = ("entropic student per sample: the codeword index alone, range-coded over the "
                   "checkpoint's integer table, terminated on a whole byte (no header)")

    def encode(self, x: Any) -> bytes:
        return self.encode_batch([x])[0]

    def encode_batch(self, xs: Sequence[Any]) -> list[bytes]:
        table = self._table()
        return [table.encode(k) for k in self.indexes(xs, keep=True)]

    def decode(self, data: bytes) -> Any:
        return self.decode_batch([data])[0]

    def decode_batch(self, streams: Sequence[bytes]) -> list[Any]:
        table = self._table()
        indexes = [table.decode(s) for s in streams]
        return self.labels_of(indexes) if indexes else []


@register_codec("entropic-student-ans-block")
class EntropicStudentAnsBlockCodec(IndexCoded, BlockCodec):
    """A block's codeword indexes in one constriction ANS stream over the same integer table.

    ``varint N`` then the indexes, i.i.d. under the table (:func:`vcmbench.entropy.ans.encode_iid`,
    whose start state makes a stream decode only with its exact count). compressai's block stream
    of the same indexes pays for a 9–11 byte header, seven constant padding channels per sample and
    its 16-bit tables; this one pays the count and the ANS coder's ~24-bit start state per block.
    """

    description = "entropic student, a block's codeword indexes in one ANS stream over the checkpoint's table"

    def _probabilities(self) -> np.ndarray:
        from vcmbench.entropy.symbolcode import TOTAL

        return self._table().freqs / TOTAL

    def encode_block(self, xs: Sequence[Any]) -> bytes:
        import numpy as np

        from vcmbench.entropy.ans import encode_iid
        from vcmbench.entropy.framing import write_varint

        indexes = np.asarray(self.indexes(xs, keep=True), dtype=np.int64)
        return write_varint(len(indexes)) + encode_iid(indexes, self._probabilities())

    def decode_block(self, data: bytes) -> list[Any]:
        from vcmbench.entropy.ans import decode_iid
        from vcmbench.entropy.framing import read_varint

        count, pos = read_varint(data, 0)
        if self.block_size is not None and count > self.block_size:
            raise BitstreamError(f"corrupted block header ({count} samples in a block of at most "
                                 f"{self.block_size})")
        indexes = decode_iid(data[pos:], self._probabilities(), count)
        return self.labels_of(indexes.tolist()) if count else []
