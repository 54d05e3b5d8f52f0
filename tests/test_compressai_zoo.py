"""CompressAI zoo codecs on randomly initialised networks: real strings, counted, decoded from bytes alone."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

import vcmbench.codecs.compressai_zoo as zoo  # noqa: E402
from vcmbench.api.codec import CODECS, CodecContext  # noqa: E402
from vcmbench.codecs.compressai_zoo import (  # noqa: E402
    Bmshj2018Factorized,
    Bmshj2018Hyperprior,
    Cheng2020Anchor,
    CompressAIZooCodec,
    Mbt2018Mean,
)
from vcmbench.entropy.framing import read_varint, write_varint  # noqa: E402
from vcmbench.errors import BitstreamError, DataError, UsageError  # noqa: E402

CLASSES = [Bmshj2018Factorized, Bmshj2018Hyperprior, Mbt2018Mean, Cheng2020Anchor]


def ctx(seed: int = 0) -> CodecContext:
    return CodecContext(task_model=None, train=None, num_classes=10, seed=seed)


def prepared(cls: type[CompressAIZooCodec], seed: int = 0, quality: int = 1) -> CompressAIZooCodec:
    codec = cls(quality=quality, weights="random")
    codec.prepare(ctx(seed))
    return codec


def digit() -> np.ndarray:
    img = np.zeros((28, 28), np.uint8)
    yy, xx = np.mgrid[0:28, 0:28]
    img[np.abs(np.hypot(yy - 14, xx - 14) - 8) < 2.5] = 230
    return img


def photo(height: int = 40, width: int = 70) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([128 + 90 * np.sin(xx / 9 + c) * np.cos(yy / 13 - c) for c in range(3)],
                    axis=-1).astype(np.uint8)


def strings_of(stream: bytes) -> tuple[int, int, bool, list[bytes]]:
    """The stream's documented layout, parsed independently of the codec."""
    height, pos = read_varint(stream, 0)
    packed, pos = read_varint(stream, pos)
    strings = []
    while pos < len(stream):
        size, pos = read_varint(stream, pos)
        strings.append(stream[pos:pos + size])
        pos += size
    return height, packed >> 1, bool(packed & 1), strings


# cheng2020-anchor codes each latent position in turn (its autoregressive context): seconds per image.
PARAMS = [pytest.param(c, marks=pytest.mark.slow) if c is Cheng2020Anchor else c for c in CLASSES]


@pytest.fixture(scope="module", params=PARAMS, ids=lambda c: c.architecture)
def pair(request):
    """An encoder and a separately built and prepared decoder with the same (random, seeded) weights."""
    return prepared(request.param), prepared(request.param)


@pytest.mark.parametrize("image", [digit(), photo()], ids=["grey", "rgb"])
def test_round_trip_from_the_bytes_alone(pair, image):
    encoder, decoder = pair
    stream = encoder.encode(image)
    out = decoder.decode(bytes(stream))
    assert out.shape == image.shape and out.dtype == np.uint8
    # the bytes decode to what compressai's own decompress() gives for the padded input
    height, width, grey, strings = strings_of(stream)
    assert (height, width, grey) == (image.shape[0], image.shape[1], image.ndim == 2)
    model = decoder.model
    stride = 16 if len(strings) == 1 else 64
    shape = (-(-height // 64) * 64 // stride, -(-width // 64) * 64 // stride)
    with torch.no_grad():
        x_hat = model.decompress([[s] for s in strings], shape)["x_hat"][0, :, :height, :width]
    expected = x_hat.mean(0) if grey else x_hat.permute(1, 2, 0)
    expected = (expected.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(out, expected)


def test_the_strings_are_compressais_and_the_header_is_all_else(pair):
    encoder, _ = pair
    image = photo(64, 64)
    stream = encoder.encode(image)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        reference = [s[0] for s in encoder.model.compress(x)["strings"]]
    *_, strings = strings_of(stream)
    assert strings == reference
    header = len(stream) - sum(len(s) for s in strings)
    # height, 2·width + grey, one length per string: varints, all counted
    assert header == sum(len(write_varint(v)) for v in (64, 2 * 64, *(len(s) for s in strings)))


def test_a_differently_seeded_decoder_gets_other_weights():
    a, b = prepared(Bmshj2018Factorized, seed=0), prepared(Bmshj2018Factorized, seed=1)
    assert not torch.equal(a.model.g_s[0].weight, b.model.g_s[0].weight)
    assert a.identity() == {"checkpoint": {"origin": "random", "seed": 0}}


def test_libraries_are_the_loaded_versions(pair):
    import compressai

    libs = pair[0].libraries()
    assert libs["compressai"] == compressai.__version__ and libs["torch"] == torch.__version__


_STREAMS: dict[str, bytes] = {}


def digit_stream(encoder: CompressAIZooCodec) -> bytes:
    """The encoder's stream of :func:`digit`, encoded once per architecture (cheng2020 codes slowly)."""
    if encoder.name not in _STREAMS:
        _STREAMS[encoder.name] = encoder.encode(digit())
    return _STREAMS[encoder.name]


@pytest.mark.parametrize("damage", ["empty", "truncated", "extra", "odd-length", "too-few-strings"])
def test_bad_bytes_are_one_line_errors(pair, damage):
    encoder, decoder = pair
    stream = digit_stream(encoder)
    height, width, _, strings = strings_of(stream)
    header = write_varint(height) + write_varint(2 * width)
    data = {"empty": b"", "truncated": stream[:-4], "extra": stream + b"\x00",
            "odd-length": header + write_varint(len(strings[0]) + 1) + strings[0] + b"\x00",
            "too-few-strings": header}[damage]
    with pytest.raises(BitstreamError, match=encoder.name) as info:
        decoder.decode(data)
    assert "\n" not in str(info.value)


def test_a_header_claiming_a_huge_image_is_refused_before_decoding(pair):
    encoder, decoder = pair
    *_, strings = strings_of(digit_stream(encoder))
    body = b"".join(write_varint(len(s)) + s for s in strings)
    with pytest.raises(BitstreamError, match="at most"):
        decoder.decode(write_varint(100_000) + write_varint(2 * 100_000) + body)
    # within the cap, but far more hyper-latent positions than the string can hold
    with pytest.raises(BitstreamError, match="need at least"):
        decoder.decode(write_varint(1400) + write_varint(2 * 1400) + body)


def test_missing_weights_name_the_file_the_folder_and_the_url(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(DataError) as info:
        Bmshj2018Hyperprior(quality=3).prepare(ctx())
    message = str(info.value)
    assert "\n" not in message
    assert "bmshj2018-hyperprior-3-" in message and str(tmp_path / "checkpoints") in message
    assert "https://compressai.s3.amazonaws.com/models/v1/bmshj2018-hyperprior-3-" in message


def test_weights_load_from_the_hub_cache_and_are_hash_checked(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    source = prepared(Bmshj2018Factorized, seed=3)
    codec = Bmshj2018Factorized(quality=1)
    _, path = codec.hub_file()
    path.parent.mkdir(parents=True)
    torch.save(source.model.state_dict(), path)  # right file name, wrong content for its hash
    with pytest.raises(DataError, match="damaged"):
        codec.prepare(ctx())
    named = tmp_path / "mine.pth"
    torch.save(source.model.state_dict(), named)
    loaded = Bmshj2018Factorized(quality=1, weights=str(named))
    loaded.prepare(ctx())
    assert loaded.identity()["checkpoint"]["origin"] == "file"
    image = photo()
    assert loaded.encode(image) == source.encode(image)  # same weights, same bitstream


def test_weights_of_another_architecture_are_refused(tmp_path):
    other = prepared(Bmshj2018Factorized)
    path = tmp_path / "factorized.pth"
    torch.save(other.model.state_dict(), path)
    with pytest.raises(DataError, match="does not fit"):
        Mbt2018Mean(quality=1, weights=str(path)).prepare(ctx())


def test_points_and_parameters():
    assert [p["quality"] for p in Bmshj2018Hyperprior.operating_points()] == list(range(1, 9))
    assert [p["quality"] for p in Cheng2020Anchor.operating_points()] == list(range(1, 7))
    for bad in ({"quality": 0}, {"quality": 9}, {"quality": 2.0}, {"metric": "psnr"}):
        with pytest.raises(UsageError):
            Mbt2018Mean(**bad)
    with pytest.raises(UsageError):
        Cheng2020Anchor(quality=7)
    for cls in CLASSES:
        assert CODECS.get(cls.architecture) is cls


def test_unprepared_codec_says_so():
    with pytest.raises(UsageError, match="not prepared"):
        Bmshj2018Factorized(quality=1, weights="random").encode(digit())


def test_images_beyond_the_pixel_cap_are_refused_at_the_encoder(monkeypatch):
    codec = prepared(Bmshj2018Factorized)
    monkeypatch.setattr(zoo, "MAX_PIXELS", 64 * 64)
    codec.encode(np.zeros((64, 64), np.uint8))
    with pytest.raises(UsageError, match="at most"):
        codec.encode(np.zeros((65, 64), np.uint8))
