"""How the scalable and rdc networks are stored: packed int8 rows and float16, without training-only parts,
small, and refused when damaged."""

from __future__ import annotations

import io

import pytest
import torch

from vcmbench.codecs.scalable_net import BaseNet
from vcmbench.codecs.trained_store import INT8_MIN_SIZE, MIN_ROW, pack, unpack
from vcmbench.errors import DataError


def test_packed_weights_come_back_within_half_a_quantisation_step() -> None:
    torch.manual_seed(0)
    net = BaseNet(12, 8, 10, reconstruct=True, head=32)
    state = net.state_dict()
    back = unpack(pack(state, net.training_only)["packed"])
    assert not any(k.startswith("reconstruction.") for k in back)  # g_a trains the base, never ships
    for key, value in back.items():
        original = state[key].float()
        assert value.shape == original.shape, key
        if original.numel() >= INT8_MIN_SIZE and original.dim() >= 2:
            per_row = original[0].numel() >= MIN_ROW  # short rows share one scale
            rows = original.reshape(original.shape[0] if per_row else 1, -1)
            step = rows.abs().amax(1, keepdim=True) / 127  # one int8 step per row
            error = (value.reshape(rows.shape) - rows).abs()
            # half a step, plus what a float16 scale rounded down clips off the largest weight (127 · 2^-11)
            assert bool((error <= step * (0.5 + 127 * 2.0 ** -11) * (1 + 2.0 ** -10)).all()), key
            assert float((error / step).max()) > 0.4, key  # and the error is really that of 8 bits
            assert not torch.equal(value, original), key  # it was quantised, not stored as is
        else:
            assert torch.equal(value, original.half().float()), key


def test_a_packed_network_is_a_fraction_of_its_float32_size() -> None:
    net = BaseNet(12, 8, 10, reconstruct=False, head=32)
    buffers = {}
    for name, state in (("float32", net.state_dict()), ("packed", pack(net.state_dict()))):
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffers[name] = len(buffer.getvalue())
    assert buffers["packed"] < buffers["float32"] / 3


def test_damaged_packed_weights_are_refused() -> None:
    packed = pack(BaseNet(12, 8, 10, reconstruct=False, head=32).state_dict())["packed"]
    short = {**packed, "int8": packed["int8"][:-1]}
    with pytest.raises(DataError, match="damaged"):
        unpack(short)
    extra = {**packed, "float16": torch.cat([packed["float16"], torch.zeros(3, dtype=torch.float16)])}
    with pytest.raises(DataError, match="add up"):
        unpack(extra)
    with pytest.raises(DataError):
        unpack({**packed, "kinds": ["int4"] * len(packed["kinds"])})
