"""Conformance checks for layered (scalable) codecs: every prefix of layers decodes, from its bytes alone.

A :class:`~vcmbench.api.codec.LayeredCodec` is also a block codec (its layers framed in one stream),
so the kit's other checks already run on the full, framed stream. What only a layered codec can
break is checked here (:data:`LAYER_CHECKS`):

* ``layers``: the class declares its layers (distinct names, known kinds) and ``encode_layers``
  gives exactly one ``bytes`` object per declared layer;
* ``layer-bytes``: the layers' bytes add up — ``encode_block`` is the layers and their varint
  lengths and nothing else, so the rate a harness counts per layer sums to the framed stream's,
  and the layers are the same when encoded twice;
* ``prefix``: every prefix (layers 0..k−1, k = 1..L) decodes, by the encoding instance and by a
  separately constructed and prepared instance in another process that receives only those
  layers' bytes, to as many valid outputs of the k-th layer's kind as samples went in, the same
  in both processes; the full prefix decodes as the framed stream does;
* ``prefix-damage``: a prefix of no layers or of more layers than declared is refused with
  BitstreamError, and every damaged shorter prefix (cut, flipped, extended, as the kit damages a
  stream) gives BitstreamError or an output, never another exception, a hang or a crash.

Prefixes travel to the other process framed (``varint k`` and the k layers), because that
process decodes what it receives with ``decode_block``, which splits the frame and calls
``decode_prefix`` with exactly those layers. The other process judges a damaged prefix's outputs
against the codec's own kind (the full stream's), so for a shorter prefix of another kind (labels
from a base layer) only its exceptions, time and memory are judged there; undamaged prefixes are
judged here against their own kind.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from vcmbench.api.codec import LayeredCodec, split_layers
from vcmbench.conformance.outputs import describe, problem
from vcmbench.entropy.framing import write_varint
from vcmbench.errors import BitstreamError

LAYER_CHECKS: dict[str, str] = {
    "layers": "a layered codec declares distinct, known layers and encode_layers gives one bytes per layer",
    "layer-bytes": "the layers' bytes add up: encode_block is exactly the layers and their lengths",
    "prefix": "every prefix of layers decodes, here and in a separate decoder given only its bytes, "
              "to valid outputs of its layer's kind",
    "prefix-damage": "an empty or overlong prefix gives BitstreamError; a damaged prefix never another "
                     "exception, a hang or a crash",
}
KINDS = ("input", "features", "label")

Add = Callable[[str, str], None]


def _error(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


def frame(layers: Sequence[bytes]) -> bytes:
    """Layers as one stream, framed as :meth:`LayeredCodec.encode_block` frames them."""
    return write_varint(len(layers)) + b"".join(write_varint(len(s)) + bytes(s) for s in layers)


def declared_findings(cls: type[LayeredCodec], add: Add) -> None:
    """The ``layers`` check on the class alone."""
    specs = tuple(getattr(cls, "layers", ()))
    if not specs:
        add("layers", "a layered codec must declare its layers (LayerSpec(name, decodes_to), in order)")
        return
    bad = [s.decodes_to for s in specs if s.decodes_to not in KINDS]
    if bad:
        add("layers", f"layer kind {bad[0]!r}; one of {', '.join(KINDS)}")
    if len({s.name for s in specs}) != len(specs):
        add("layers", f"layer names must be distinct, got {[s.name for s in specs]}")


def encode_layers(codec: LayeredCodec, inputs: Sequence[Any], blocks: Sequence[tuple[int, int]],
                  add: Add) -> list[list[bytes]] | None:
    """Each block's layers, checked for their count and type, their framing, and repeatability."""
    expected = len(codec.layers)
    out = []
    for i, (start, end) in enumerate(blocks):
        xs = inputs[start:end]
        try:
            raw = codec.encode_layers(xs)
        except Exception as exc:
            add("layers", f"encode_layers raised {_error(exc)}")
            return None
        if not isinstance(raw, list | tuple) or len(raw) != expected:
            got = len(raw) if isinstance(raw, list | tuple) else type(raw).__name__
            add("layers", f"encode_layers gave {got} streams for {expected} declared layers")
            return None
        wrong = [type(s).__name__ for s in raw if type(s) is not bytes]
        if wrong:
            add("layers", f"encode_layers returned {wrong[0]} where bytes are due (each layer's rate is "
                          f"8 × its length)")
            if not all(isinstance(s, bytes | bytearray) for s in raw):
                return None
        layers = [bytes(s) for s in raw]
        try:
            framed = bytes(codec.encode_block(xs))
            again = [bytes(s) for s in codec.encode_layers(xs)]
        except Exception as exc:
            add("layers", f"encoding block {i} again raised {_error(exc)}")
            return None
        if again != layers:
            add("layer-bytes", f"block {i}: encoding the same inputs twice gave different layers")
        if framed != frame(layers) or split_layers(framed) != layers:
            add("layer-bytes", f"block {i}: encode_block ({len(framed)} bytes) is not the framed layers "
                               f"({' + '.join(str(len(s)) for s in layers)} bytes and their lengths): the "
                               f"rates counted per layer would not add up to the stream's")
        out.append(layers)
    return out


def decode_prefixes(codec: LayeredCodec, inputs: Sequence[Any], blocks: Sequence[tuple[int, int]],
                    encoded: Sequence[Sequence[bytes]], num_classes: int,
                    add: Add) -> dict[tuple[int, int], list[str]] | None:
    """Decode every prefix of every block with ``codec``; the outputs' digests by (block, k)."""
    specs = tuple(codec.layers)
    digests: dict[tuple[int, int], list[str]] = {}
    for i, ((start, end), layers) in enumerate(zip(blocks, encoded, strict=True)):
        for k in range(1, len(layers) + 1):
            kind = specs[k - 1].decodes_to
            try:
                outputs = list(codec.decode_prefix(layers[:k]))
            except Exception as exc:
                add("prefix", f"block {i}: decoding layers 0..{k - 1} raised {_error(exc)}")
                return None
            if len(outputs) != end - start:
                add("prefix", f"block {i}: layers 0..{k - 1} decoded to {len(outputs)} outputs for "
                              f"{end - start} samples")
                return None
            for x, out in zip(inputs[start:end], outputs, strict=True):
                why = problem(out, kind, num_classes, x if kind == "input" else None)
                if why is not None:
                    add("prefix", f"block {i}: layers 0..{k - 1} ({specs[k - 1].name}, {kind}) decoded {why}")
                    return None
            digests[(i, k)] = [describe(out)["digest"] for out in outputs]
        try:
            full = [describe(out)["digest"] for out in codec.decode_block(frame(layers))]
        except Exception as exc:
            add("prefix", f"block {i}: the framed stream did not decode: {_error(exc)}")
            return None
        if full != digests[(i, len(layers))]:
            add("prefix", f"block {i}: decode_block of the framed layers differs from decode_prefix of all "
                          f"layers")
    if encoded:
        _wrong_lengths(codec, encoded[0], add)
    return digests


def _wrong_lengths(codec: LayeredCodec, layers: Sequence[bytes], add: Add) -> None:
    """No layers, or one layer too many: BitstreamError, nothing else."""
    for label, prefix in (("no layers", []), ("one layer more than declared", [*layers, layers[-1]])):
        try:
            codec.decode_prefix(prefix)
        except BitstreamError:
            continue
        except Exception as exc:
            add("prefix-damage", f"decode_prefix of {label} raised {_error(exc)}, not BitstreamError")
            continue
        add("prefix-damage", f"decode_prefix of {label} returned outputs instead of raising BitstreamError")


def prefix_request(spec: str, params: dict[str, Any], blocks: Sequence[tuple[int, int]],
                   encoded: Sequence[Sequence[bytes]], options: Any
                   ) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """The worker request decoding every framed prefix (damaging block 0's shorter ones); the (block, k)
    of each stream sent."""
    keys = [(i, k) for i, layers in enumerate(encoded) for k in range(1, len(layers) + 1)]
    streams = [frame(encoded[i][:k]) for i, k in keys]
    damage = [n for n, (i, k) in enumerate(keys) if i == 0 and k < len(encoded[0])]
    request = {"op": "point", "codec": spec, "params": params, "blocks": [list(blocks[i]) for i, _ in keys],
               "streams": [base64.b64encode(s).decode("ascii") for s in streams], "damage": damage,
               "flips": options.flips, "seed": options.seed, "max_prefixes": options.max_prefixes,
               "memory_budget": options.memory_budget}
    return request, keys


def compare_prefixes(reply: dict[str, Any], keys: Sequence[tuple[int, int]],
                     mine: dict[tuple[int, int], list[str]] | None, add: Add) -> None:
    """The separate decoder's digests of each prefix against the encoding instance's."""
    if "error" in reply:
        add("prefix", f"a separately prepared decoder could not decode a prefix: {reply['error']}")
        return
    for (i, k), theirs in zip(keys, reply["outputs"], strict=True):
        digests = [t["digest"] for t in theirs]
        if mine is not None and digests != mine.get((i, k)):
            add("prefix", f"block {i}: a separate decoder given only layers 0..{k - 1} decoded other outputs "
                          f"than the encoding instance")
            return


def damaged_result_ok(result: str, kind: str, full_kind: str) -> bool:
    """Whether the other process's verdict on a damaged prefix is acceptable (see the module notes)."""
    if result in ("bitstream-error", "valid"):
        return True
    return result.startswith("invalid:") and kind != full_kind
