"""split-feature decodes from the bytes and its prepared weights alone, at every split point.

The rank of the features at the split (vectors at fc1, feature maps at conv1/conv2) used to be
remembered by the instance that ran the encoder, so a decoder that had not encoded anything
returned vectors where feature maps were due. It now travels with the trained weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vcmbench.api.codec import CODECS, CodecContext
from vcmbench.api.dataset import ArrayDataset, DatasetInfo, fingerprint_arrays
from vcmbench.api.task import TaskContext
from vcmbench.codecs.learned.split_feature import SplitFeature
from vcmbench.errors import BitstreamError, UsageError
from vcmbench.tasks.mnist_cnn import MnistCNN, feature_shape

SPLITS = ("conv1", "conv2", "fc1")
FAST = {"step": 2.0, "epochs": 1, "fit_samples": 64}


def digits(n: int, split: str, seed: int) -> ArrayDataset:
    """28×28 uint8 images: class k is a bright square in quadrant k, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 2)
        images[i, 4 + 14 * r: 10 + 14 * r, 4 + 14 * c: 10 + 14 * c] = 230
    info = DatasetInfo(id="squares", split=split, num_classes=4,
                       fingerprint=fingerprint_arrays(images, labels), pixels_per_sample=784)
    return ArrayDataset(info, images, labels)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[CodecContext, list[np.ndarray]]:
    train = digits(64, "train", 0)
    cache = tmp_path_factory.mktemp("cache")
    cnn = MnistCNN(epochs=1, num_classes=4)
    cnn.prepare(TaskContext(train=train, cache_dir=cache))
    ctx = CodecContext(task_model=cnn, train=train, num_classes=4, cache_dir=cache, allow_training=True)
    return ctx, digits(6, "test", 1).inputs(range(6))


def encode(codec: SplitFeature, xs: list[np.ndarray]) -> list[bytes]:
    return codec.encode_batch(xs) if codec.granularity == "sample" else [codec.encode_block(xs)]


def decode(codec: SplitFeature, streams: list[bytes]) -> list[torch.Tensor]:
    return codec.decode_batch(streams) if codec.granularity == "sample" else codec.decode_block(streams[0])


@pytest.mark.parametrize("name", ["split-feature", "split-feature-block"])
@pytest.mark.parametrize("split", SPLITS)
def test_a_freshly_prepared_decoder_returns_the_features_of_the_split(setup, name, split):
    ctx, xs = setup
    encoder = CODECS.get(name)(split=split, **FAST)
    encoder.prepare(ctx)
    streams = encode(encoder, xs)
    decoder = CODECS.get(name)(split=split, **FAST)  # never encodes: it has only the bytes
    decoder.prepare(ctx)
    decoded = decode(decoder, streams)
    assert all(tuple(f.shape) == feature_shape(split) for f in decoded)
    assert all(torch.equal(a, b) for a, b in zip(decoded, decode(encoder, streams), strict=True))
    labels = ctx.task_model.predict_from_features(torch.stack(decoded), split)
    assert labels.shape == (len(xs),)


@pytest.mark.parametrize("split", ["conv1", "conv2"])
def test_a_decoder_given_only_the_trained_weights_knows_the_feature_rank(setup, split):
    ctx, xs = setup
    encoder = CODECS.get("split-feature")(split=split, **FAST)
    encoder.prepare(ctx)
    streams = encode(encoder, xs)
    decoder = CODECS.get("split-feature")(split=split, **FAST)
    decoder.attach(encoder.model)  # the weights, without a task model, a probe or an encode
    assert [tuple(f.shape) for f in decode(decoder, streams)] == [feature_shape(split)] * len(xs)


def test_a_stream_of_feature_maps_is_not_passed_off_as_vectors(setup):
    ctx, xs = setup
    maps = CODECS.get("split-feature")(split="conv1", **FAST)
    maps.prepare(ctx)
    vectors = CODECS.get("split-feature")(split="fc1", **FAST)
    vectors.prepare(ctx)
    with pytest.raises(BitstreamError):
        vectors.decode_batch(encode(maps, xs[:1]))


def test_the_feature_rank_is_saved_with_the_weights(setup):
    ctx, _ = setup
    codec = CODECS.get("split-feature-block")(split="conv2", **FAST)
    codec.prepare(ctx)
    assert int(codec.model.state_dict()["feature_rank"]) == 1 + len(feature_shape("conv2"))


def test_an_unprepared_decoder_says_so():
    with pytest.raises(UsageError, match="not prepared"):
        CODECS.get("split-feature")(split="conv1").outputs(torch.zeros(1, 16, 14, 14))
