"""Complexity counts: ptflops' MACs checked against convolutions counted by hand, parameters against torch."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ptflops")

from torch import nn  # noqa: E402

from vcmbench.api.codec import CodecContext  # noqa: E402
from vcmbench.complexity import Stage, codec_complexity, count_macs, count_params  # noqa: E402


def conv_macs_by_hooks(module: nn.Module, shape: tuple[int, ...], bias: bool = False) -> int:
    """MACs of every Conv2d / ConvTranspose2d forward, from the layers' own sizes (no ptflops);
    ``bias``: plus one add per output of a layer with a bias, as ptflops' aten backend counts."""
    total = 0

    def hook(mod, inputs, output):
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            total += output.numel() * k
        elif isinstance(mod, nn.ConvTranspose2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.out_channels // mod.groups
            total += inputs[0].numel() * k
        if bias and isinstance(mod, nn.Conv2d | nn.ConvTranspose2d) and mod.bias is not None:
            total += output.numel()

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    with torch.no_grad():
        module(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return total


def test_macs_of_plain_convolutions_match_the_layer_arithmetic():
    net = nn.Sequential(nn.Conv2d(3, 8, 5, stride=2, padding=2), nn.ReLU(),
                        nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.Conv2d(4, 2, 1, groups=2))
    shape = (3, 32, 48)
    assert count_macs(net, shape) == conv_macs_by_hooks(net, shape, bias=True) > 0


def test_params_are_torchs_count_and_shared_tensors_count_once():
    a, b = nn.Linear(10, 5), nn.Linear(5, 2)
    assert count_params([a, b]) == sum(p.numel() for p in [*a.parameters(), *b.parameters()])
    assert count_params([a, a]) == sum(p.numel() for p in a.parameters())


def test_codec_complexity_divides_by_pixels():
    enc, dec = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 3, 3, padding=1)
    out = codec_complexity([Stage(enc, (3, 16, 16))], [Stage(dec, (4, 16, 16))], pixels=256)
    assert out["encoder_params"] == sum(p.numel() for p in enc.parameters())
    assert out["decoder_params"] == sum(p.numel() for p in dec.parameters())
    assert out["encoder_macs_per_pixel"] == pytest.approx(count_macs(enc, (3, 16, 16)) / 256)
    with pytest.raises(ValueError):
        codec_complexity([], [], pixels=0)


@pytest.fixture(scope="module", params=["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean",
                                        pytest.param("cheng2020-anchor", marks=pytest.mark.slow)])
def zoo_codec(request):
    from vcmbench.api.codec import CODECS
    from vcmbench.codecs import compressai_zoo  # noqa: F401 - registers the zoo

    codec = CODECS.get(request.param)(quality=1, weights="random")
    codec.prepare(CodecContext(task_model=None, train=None, num_classes=10))
    return codec


def test_zoo_complexity_is_positive_and_params_are_torchs_sum(zoo_codec):
    m = zoo_codec.model
    counts = zoo_codec.complexity()
    assert set(counts) == {"encoder_params", "decoder_params", "encoder_macs_per_pixel",
                           "decoder_macs_per_pixel"}
    assert all(v > 0 for v in counts.values())
    every = sum(p.numel() for p in m.parameters())
    if hasattr(m, "h_a"):  # hyperprior: the encoder runs everything but g_s, the decoder all but g_a and h_a
        assert counts["encoder_params"] == every - count_params([m.g_s])
        assert counts["decoder_params"] == every - count_params([m.g_a, m.h_a])
    else:
        assert counts["encoder_params"] == every - count_params([m.g_s])
        assert counts["decoder_params"] == every - count_params([m.g_a])


def test_zoo_macs_cover_at_least_every_convolution_of_the_transforms(zoo_codec):
    """ptflops' aten count includes GDN's convolutions too, so it is at least the plain-conv count."""
    m = zoo_codec.model
    size = 64
    counts = zoo_codec.complexity()
    g_a = conv_macs_by_hooks(m.g_a, (3, size, size))
    with torch.no_grad():
        y_shape = tuple(m.g_a(torch.zeros(1, 3, size, size)).shape[1:])
    g_s = conv_macs_by_hooks(m.g_s, y_shape)
    assert counts["encoder_macs_per_pixel"] >= g_a / size**2
    assert counts["decoder_macs_per_pixel"] >= g_s / size**2
    # and not wildly more: the hyper networks run on 1/16 of the positions
    assert counts["encoder_macs_per_pixel"] < 3 * g_a / size**2
