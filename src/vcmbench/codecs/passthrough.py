"""The identity codec: raw task inputs as bytes; the harness-overhead baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

from vcmbench.api.codec import SampleCodec, register_codec
from vcmbench.entropy.framing import pack_array, unpack_array


@register_codec("passthrough")
class PassthroughCodec(SampleCodec):
    """Sends the input array as it is (dtype, shape and raw bytes): the rate of doing nothing."""

    description = "raw input bytes (dtype + shape header); lossless"
    decodes_to = "input"

    def encode(self, x: Any) -> bytes:
        return pack_array(np.asarray(x))

    def decode(self, data: bytes) -> np.ndarray:
        return unpack_array(data)
