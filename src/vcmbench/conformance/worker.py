"""The receiving side of a conformance check, run as ``python -m vcmbench.conformance.worker``.

It rebuilds the setup, constructs and prepares its own instance of each codec (it has never
seen the encoder), decodes the streams it is sent, decodes every damaged variant of them under
an address-space cap, and only then encodes the same inputs itself, so the caller can compare
the bytes of two processes. It speaks JSON lines: requests on stdin, replies on its own copy of
stdout (the real stdout is pointed at stderr, so whatever a codec prints cannot corrupt the
protocol). Before each damaged stream it says which one it starts, so the caller can time each
decode and kill a worker that hangs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from vcmbench.api.codec import BlockCodec, Codec
from vcmbench.conformance.damage import damage_cases
from vcmbench.conformance.outputs import describe, problem, stack
from vcmbench.conformance.setup import Setup, SetupSpec, build_setup, resolve_codec
from vcmbench.errors import BitstreamError

try:
    import resource
except ImportError:  # not POSIX: no address-space cap
    resource = None  # type: ignore[assignment]


def address_space_used() -> int | None:
    """Bytes of address space this process maps now (Linux), or None where that is unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def guard_available() -> bool:
    return resource is not None and sys.platform.startswith("linux") and address_space_used() is not None


@contextmanager
def address_space_cap(budget: int) -> Iterator[None]:
    """Cap the address space at what is mapped now plus ``budget`` bytes, for the ``with`` body.

    Only the soft limit moves, so it is restored afterwards. Any allocation beyond the cap (a
    numpy array, a bytearray, a C++ vector, an mmap) fails with MemoryError instead of being made.
    """
    used = address_space_used() if guard_available() else None
    if used is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + budget if hard == resource.RLIM_INFINITY else min(used + budget, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def _decode(codec: Codec, data: bytes) -> list[Any]:
    return list(codec.decode_block(data)) if isinstance(codec, BlockCodec) else [codec.decode(data)]


def damaged_result(codec: Codec, setup: Setup, data: bytes, like: Any, budget: int) -> str:
    """How the decoder took a damaged stream: ``bitstream-error``, ``valid``, or what went wrong."""
    try:
        with address_space_cap(budget):
            outputs = _decode(codec, data)
    except BitstreamError:
        return "bitstream-error"
    except MemoryError as exc:
        return f"memory: {_error(exc)}"
    except RuntimeError as exc:
        if "alloc" in str(exc).lower():  # torch's allocator failing under the cap
            return f"memory: {_error(exc)}"
        return f"error: {_error(exc)}"
    except Exception as exc:  # the finding: anything but BitstreamError
        return f"error: {_error(exc)}"
    for out in outputs:
        why = problem(out, codec.decodes_to, setup.context.num_classes, like, exact=False)
        if why is not None:
            return f"invalid: decoded {why}"
    return "valid"


class Worker:
    def __init__(self, send: Callable[[dict[str, Any]], None]):
        self.send = send
        self.setup: Setup | None = None

    def handle(self, request: dict[str, Any]) -> None:
        if request["op"] == "setup":
            try:
                self.setup = build_setup(SetupSpec.from_json(request["spec"]))
                self.send({"ok": True, "inputs": len(self.setup.inputs)})
            except Exception as exc:
                self.send({"ok": False, "error": _error(exc), "trace": traceback.format_exc()[-2000:]})
        elif request["op"] == "point":
            self.point(request)

    def point(self, request: dict[str, Any]) -> None:
        setup = self.setup
        assert setup is not None
        streams = [base64.b64decode(s) for s in request["streams"]]
        try:
            codec = resolve_codec(request["codec"])(**request["params"])
            codec.prepare(setup.context)
            self.send({"stage": "prepared", "identity": codec.identity()})
        except Exception as exc:
            self.send({"stage": "prepared", "error": _error(exc)})
            return
        self.decode(codec, setup, streams, request)
        self.damage(codec, setup, streams, request)
        self.encode(codec, setup, request)
        self.send({"stage": "done"})

    def decode(self, codec: Codec, setup: Setup, streams: list[bytes], request: dict[str, Any]) -> None:
        """Decode the streams as the harness does (decode_block, or decode_batch for all samples)."""
        decoded: list[list[dict[str, str]]] = []
        try:
            if isinstance(codec, BlockCodec):
                per_stream = [list(codec.decode_block(data)) for data in streams]
            else:
                outputs = list(codec.decode_batch(streams))
                if len(outputs) != len(streams):
                    raise ValueError(f"decode_batch returned {len(outputs)} outputs for {len(streams)} "
                                     f"streams")
                per_stream = [[out] for out in outputs]
            for outputs in per_stream:
                decoded.append([{**describe(out), "problem": problem(out, codec.decodes_to,
                                                                        setup.context.num_classes) or ""}
                                for out in outputs])
            every = [out for outputs in per_stream for out in outputs]
            if codec.decodes_to == "features" and every and setup.context.task_model is not None:
                labels = setup.context.task_model.predict_from_features(stack(every), codec.split)
                if len(labels) != len(every):
                    raise ValueError(f"the task model returned {len(labels)} labels for {len(every)} "
                                     f"decoded features")
        except Exception as exc:
            self.send({"stage": "decoded", "error": _error(exc), "outputs": decoded})
            return
        self.send({"stage": "decoded", "outputs": decoded})

    def damage(self, codec: Codec, setup: Setup, streams: list[bytes], request: dict[str, Any]) -> None:
        budget = int(request["memory_budget"])
        index = 0
        for which in request["damage"]:
            start, _ = request["blocks"][which]
            like = setup.inputs[start] if codec.decodes_to == "input" else None
            for label, data in damage_cases(streams[which], flips=request["flips"], seed=request["seed"],
                                            max_prefixes=request["max_prefixes"]):
                self.send({"stage": "case", "index": index, "label": f"stream {which}: {label}",
                           "start": True})
                result = damaged_result(codec, setup, data, like, budget)
                self.send({"stage": "case", "index": index, "result": result})
                index += 1
        self.send({"stage": "damaged", "cases": index, "guarded": guard_available()})

    def encode(self, codec: Codec, setup: Setup, request: dict[str, Any]) -> None:
        try:
            digests = []
            for start, end in request["blocks"]:
                xs = setup.inputs[start:end]
                if isinstance(codec, BlockCodec):
                    digests.append(hashlib.sha256(bytes(codec.encode_block(xs))).hexdigest())
                else:
                    digests.extend(hashlib.sha256(bytes(s)).hexdigest() for s in codec.encode_batch(xs))
            self.send({"stage": "encoded", "sha256": digests})
        except Exception as exc:
            self.send({"stage": "encoded", "error": _error(exc)})


def main() -> int:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # a codec that prints writes to stderr, never into the protocol

    def send(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    worker = Worker(send)
    for line in sys.stdin:
        if line.strip():
            worker.handle(json.loads(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
