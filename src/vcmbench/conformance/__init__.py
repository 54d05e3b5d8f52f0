"""A conformance kit for codec authors: every contract check on a codec, from pytest or the CLI.

``vcmbench check-codec NAME`` runs it on a registered codec; a codec package's own tests call::

    from vcmbench.conformance import assert_codec_conforms, check_codec

    def test_my_codec_conforms():
        assert_codec_conforms("my-codec", suite="mnist", limit=20)        # AssertionError lists findings
        assert check_codec("mypkg.codec:MyCodec", setup="mypkg.tests:tiny_setup") == []

The checks (:data:`CHECKS`): the class's contract; every dict of ``operating_points()``
constructs; encoder and decoder get ready; ``encode`` returns ``bytes`` (the rate is 8 × their
length, and ``estimate_bits`` is a separate number or None); ``encode_batch`` equals ``encode``;
the encoding instance decodes its own streams into valid outputs; a block stream gives back as
many outputs as samples went in (checked on the harness's blocks and on blocks of 1 and 2);
a separately constructed and prepared instance in another process decodes the same outputs
from the bytes alone; the bytes are the same twice in one process and in another process
(with its own string-hash seed); and every cut, flipped bit, hostile header and extension of
a stream gives BitstreamError or a valid output, never another exception, a hang, a crash or
an allocation beyond the memory budget.

How the damaged streams are guarded, and why that way: they are decoded in the worker process,
never in the caller's. The worker caps its own address space (``RLIMIT_AS``) at what it maps
before each decode plus the budget (1 GiB by default), so any allocation path a decoder may
take — Python objects, numpy, a C++ library, an mmap — fails with MemoryError instead of being
made, without the kit knowing any format's headers; the cap is relative, so libraries loaded
earlier do not count (the worker decodes the undamaged streams first, which loads them).
``RLIMIT_DATA`` would miss mmap-backed allocations on older kernels, and checking claimed sizes
would need every format's parser. The caller waits for each damaged decode with a time limit
and kills the worker by its process id when it hangs (a decoder stuck in C code cannot be
interrupted from inside), and a worker that dies shows a decoder that crashes the interpreter;
either way a fresh worker takes the next operating point. The cap needs Linux
(``/proc/self/statm``); elsewhere the memory check is off and the kit says so.
"""

from vcmbench.conformance.kit import (
    CHECKS,
    Finding,
    assert_codec_conforms,
    check_codec,
    check_codecs,
)
from vcmbench.conformance.setup import Setup, SetupSpec

__all__ = ["CHECKS", "Finding", "Setup", "SetupSpec", "assert_codec_conforms", "check_codec", "check_codecs"]
