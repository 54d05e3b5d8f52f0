"""Decoder memory bombs: a few hostile bytes must give BitstreamError, never a huge allocation.

Each case runs, once, in a child process whose address space is capped a little above what it
already uses (RLIMIT_AS): a decoder that believes a header and allocates for it fails there with
MemoryError instead of slowing the machine down, so the assertion "BitstreamError" also proves
that nothing big was allocated first.
"""

from __future__ import annotations

import io
import json
import math
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
from PIL import Image

from vcmbench.api.codec import CodecContext
from vcmbench.codecs import labels
from vcmbench.codecs.images import JPEG_PIXELS_PER_BYTE, MAX_PIXELS, JpegCodec, PngCodec, WebpCodec
from vcmbench.codecs.labels import MAX_BLOCK, LabelFixedCodec, LabelLossyCodec, LabelVqCodec
from vcmbench.entropy.framing import MAX_SYMBOLS, pack_array, write_varint
from vcmbench.entropy.huffman import CanonicalCode
from vcmbench.errors import BitstreamError, UsageError

HEADROOM = 256 << 20  # bytes of address space a decode may add: far below what the bombs claim

BOMB_SIZE = 8000  # 8000 × 8000 = 64 Mpx claimed, more than MAX_PIXELS, less than Pillow's own limit
assert BOMB_SIZE**2 > MAX_PIXELS


def _png_claiming(size: int) -> bytes:
    stream = bytearray(PngCodec().encode(np.zeros((28, 28), np.uint8)))
    stream[16:24] = struct.pack(">II", size, size)  # IHDR width, height
    stream[29:33] = struct.pack(">I", zlib.crc32(bytes(stream[12:29])))
    return bytes(stream)


def _jpeg_claiming(size: int) -> bytes:
    stream = bytearray(JpegCodec(quality=50).encode(np.zeros((28, 28), np.uint8)))
    sof = stream.index(b"\xff\xc0")
    stream[sof + 5:sof + 9] = struct.pack(">HH", size, size)  # height, width
    return bytes(stream)


def _webp_claiming(size: int) -> bytes:
    stream = bytearray(WebpCodec(quality=50).encode(np.zeros((28, 28, 3), np.uint8)))
    start = stream.index(b"\x9d\x01\x2a") + 3  # VP8 key frame start code, then 14-bit width, height
    stream[start:start + 4] = struct.pack("<HH", size, size)
    return bytes(stream)


def _array_claiming() -> dict[str, bytes]:
    good = pack_array(np.zeros(16, np.uint8))
    return {
        # 2^62 × 4 × 16 wraps to 0 in int64 arithmetic; exact arithmetic sees 2^68 bytes
        "passthrough-wrapping-shape": bytes([0, 3]) + write_varint(1 << 62) + write_varint(4)
        + write_varint(16) + good[3:],
        "passthrough-empty-but-huge": bytes([0, 3]) + write_varint(0) + write_varint(1 << 40)
        + write_varint(1 << 40),
        "passthrough-too-many-dims": bytes([0, 200]) + b"\x01" * 200 + b"\x00",
    }


def bomb_streams() -> dict[str, tuple[str, dict, bytes]]:
    """name -> (codec, parameters, hostile stream)."""
    huge = write_varint(10**8)
    cases = {
        "label-lossy-fraction-0": ("label-lossy", {"fraction": 0.0}, huge + b"\x03\x01\x00\x00\x00\x00"),
        "label-vq-bits-0": ("label-vq", {"bits": 0}, huge),
        "label-lossy-at-the-cap": ("label-lossy", {"fraction": 0.0},
                                   write_varint(MAX_BLOCK + 1) + b"\x03\x01\x00\x00\x00\x00"),
        "label-ans-adaptive": ("label-ans", {"prior": "adaptive"}, huge + b"\x03\x01\x02\x03"),
        "label-ans-uniform": ("label-ans", {"prior": "uniform"}, huge + b"\x03\x01\x02\x03"),
        "label-huffman": ("label-huffman", {}, huge + b"\x01\x02\x03"),
        "label-fixed": ("label-fixed", {}, huge + b"\x01\x02\x03"),
        "label-block": ("label-block", {"n": 10}, huge + b"\x01\x02\x03"),
        "png": ("png", {}, _png_claiming(BOMB_SIZE)),
        "jpeg": ("jpeg", {}, _jpeg_claiming(BOMB_SIZE)),
        "webp": ("webp", {}, _webp_claiming(BOMB_SIZE)),
    }
    for name, stream in _array_claiming().items():
        cases[name] = ("passthrough", {}, stream)
    return cases


CHILD = textwrap.dedent("""
    import json, resource, sys
    from vcmbench.api.codec import CODECS, BlockCodec, CodecContext
    import vcmbench.codecs  # noqa: F401 - registers the built-in codecs

    cases = json.loads(sys.stdin.read())
    results = {}
    for name, (codec_name, params, hex_stream) in cases.items():
        codec = CODECS.get(codec_name)(**params)
        codec.prepare(CodecContext(task_model=None, train=None, num_classes=10))
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (used + HEADROOM, hard))
        try:
            data = bytes.fromhex(hex_stream)
            out = codec.decode_block(data) if isinstance(codec, BlockCodec) else codec.decode(data)
            results[name] = "decoded"
        except BaseException as exc:  # noqa: BLE001 - the type is the result
            results[name] = type(exc).__name__
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    print(json.dumps(results))
""").replace("HEADROOM", str(HEADROOM))


@pytest.fixture(scope="module")
def bomb_results() -> dict[str, str]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the address-space cap (RLIMIT_AS with /proc/self/statm) is Linux only")
    cases = {name: (codec, params, stream.hex()) for name, (codec, params, stream) in bomb_streams().items()}
    done = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", sorted(bomb_streams()))
def test_a_hostile_header_is_a_bitstream_error_without_a_big_allocation(bomb_results, case):
    assert bomb_results[case] == "BitstreamError"


def test_the_cap_is_what_the_header_may_claim_and_no_less():
    codec = LabelLossyCodec(fraction=0.0)
    codec.prepare(CodecContext(task_model=None, train=None, num_classes=10))
    body = codec.encode_labels([1, 2, 3])[1:]
    assert codec.decode_labels(write_varint(100_000) + body).tolist() == [0] * 100_000  # legitimately free
    with pytest.raises(BitstreamError, match="at most"):
        codec.decode_labels(write_varint(MAX_BLOCK + 1) + body)
    vq = LabelVqCodec(bits=0)
    vq.prepare(CodecContext(task_model=None, train=None, num_classes=10))
    assert len(vq.decode_labels(write_varint(100_000))) == 100_000
    with pytest.raises(BitstreamError, match="at most"):
        vq.decode_labels(write_varint(MAX_BLOCK + 1))
    assert MAX_BLOCK == MAX_SYMBOLS and MAX_BLOCK * 8 <= 128 << 20  # int64 labels: at most 128 MB


def test_the_encoder_refuses_blocks_beyond_the_cap(monkeypatch):
    with pytest.raises(UsageError, match="block_size"):
        LabelFixedCodec(block_size=MAX_BLOCK + 1)
    monkeypatch.setattr(labels, "MAX_BLOCK", 100)  # the same rule without building 2^24 labels
    codec = LabelFixedCodec()
    codec.prepare(CodecContext(task_model=None, train=None, num_classes=10))
    codec.encode_labels([1] * 100)
    with pytest.raises(UsageError, match="set block_size"):
        codec.encode_labels([1] * 101)


@pytest.mark.parametrize("make", [_png_claiming, _jpeg_claiming, _webp_claiming],
                         ids=["png", "jpeg", "webp"])
def test_an_image_header_within_the_cap_still_decodes_or_fails_cleanly(make):
    side = math.isqrt(MAX_PIXELS)  # allowed by the cap: the truncated payload is what fails
    codec = {"_png_claiming": PngCodec(), "_jpeg_claiming": JpegCodec(), "_webp_claiming": WebpCodec()}[
        make.__name__]
    with pytest.raises(BitstreamError):
        codec.decode(make(side))


def test_images_beyond_the_cap_are_refused_by_the_encoder_too():
    with pytest.raises(UsageError, match="at most"):
        PngCodec().encode(np.zeros((1, MAX_PIXELS + 1), np.uint8))


def test_the_webp_grey_marker_is_not_a_way_around_the_cap():
    stream = b"L" + _webp_claiming(BOMB_SIZE)  # the marker of a grey image, then an RGB bomb
    with pytest.raises(BitstreamError, match="claims"):
        WebpCodec().decode(stream)


def test_a_huffman_decoder_refuses_more_codewords_than_bits():
    code = CanonicalCode.from_weights([1] * 10)
    with pytest.raises(BitstreamError, match="cannot fit"):
        code.decode(b"\x00\x00", 17)


def test_a_png_claiming_a_big_image_is_refused_from_its_header():
    stream = _png_claiming(BOMB_SIZE)
    assert Image.open(io.BytesIO(stream)).size == (BOMB_SIZE, BOMB_SIZE)  # the header really says so
    with pytest.raises(BitstreamError, match="claims"):
        PngCodec().decode(stream)


@pytest.mark.parametrize("shape", [(1024, 1024), (1024, 1024, 3)], ids=["grey", "rgb"])
def test_the_jpeg_pixels_per_byte_bound_admits_the_flattest_image_the_encoder_writes(shape):
    codec = JpegCodec(quality=5)
    stream = codec.encode(np.full(shape, 128, np.uint8))
    assert shape[0] * shape[1] / len(stream) > 0.9 * JPEG_PIXELS_PER_BYTE * (2 / 3 if len(shape) == 3 else 1)
    assert codec.decode(stream).shape == shape


def test_a_truncated_or_progressive_jpeg_is_refused():
    image = np.random.default_rng(0).integers(0, 255, (256, 256), dtype=np.uint8)
    stream = JpegCodec(quality=50).encode(image)
    with pytest.raises(BitstreamError, match="can hold"):
        JpegCodec().decode(stream[:200])
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=50, progressive=True)
    with pytest.raises(BitstreamError, match="progressive"):
        JpegCodec().decode(buf.getvalue())
