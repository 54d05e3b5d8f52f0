"""The learned codecs' share of a run's time: latents computed once per batch, heavy imports deferred."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from test_learned_codecs import TINY, context, synthetic_digits
from vcmbench.api.dataset import ArrayDataset
from vcmbench.codecs.learned.student import EntropicStudentBlockCodec, EntropicStudentCodec


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ArrayDataset]:
    cache = tmp_path_factory.mktemp("cache")
    train = synthetic_digits(96, "train")
    EntropicStudentCodec(beta=4.0, **TINY).train(context(train, cache), progress=False)
    return cache, train


@pytest.mark.parametrize("cls", [EntropicStudentCodec, EntropicStudentBlockCodec])
def test_estimate_after_encode_reuses_the_latents(cls: type, prepared: tuple[Path, ArrayDataset],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache, train = prepared
    codec = cls(beta=4.0, **TINY)
    codec.prepare(context(train, cache))
    fresh = cls(beta=4.0, **TINY)
    fresh.prepare(context(train, cache))
    test = synthetic_digits(24, "test", seed=1)
    a, b = test.inputs(range(12)), test.inputs(range(12, 24))
    expected_a, expected_b = fresh.estimate_bits(a), fresh.estimate_bits(b)
    calls = []
    real = type(codec).latents
    monkeypatch.setattr(type(codec), "latents", lambda self, xs: calls.append(len(xs)) or real(self, xs))

    def encode(xs):
        return codec.encode_block(xs) if cls is EntropicStudentBlockCodec else codec.encode_batch(xs)

    encode(a)
    assert codec.estimate_bits(a) == expected_a
    assert calls == [12]  # the analysis transform ran once for encode and estimate
    encode(a)
    assert codec.estimate_bits(b) == expected_b  # another batch is never answered from the cache
    assert codec.estimate_bits(test.inputs(range(12))) == expected_a  # equal pixels, other arrays
    assert calls == [12, 12, 12, 12]
    assert codec._last_latents is None  # nothing held after the estimate


def test_registering_learned_codecs_imports_neither_torch_nor_compressai() -> None:
    code = ("import sys\n"
            "import vcmbench.codecs, vcmbench.tasks\n"
            "from vcmbench.api.codec import CODECS\n"
            "from vcmbench.api.task import TASK_MODELS\n"
            "CODECS.names()\n"
            "for name in ('entropic-student', 'entropic-student-block'):\n"
            "    CODECS.get(name).operating_points()\n"
            "TASK_MODELS.get('mnist-cnn')\n"
            "print(sorted(m for m in ('torch', 'compressai', 'torch_geometric') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    loaded = subprocess.run([sys.executable, "-c", code.replace(
        "TASK_MODELS.get('mnist-cnn')\n", "TASK_MODELS.get('mnist-cnn')\n"
        "import vcmbench.codecs.learned.student_net\n")], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "['compressai', 'torch', 'torch_geometric']"  # the check can see them
