"""Run every contract check on a codec and collect what breaks it as findings.

The encoder side runs here, in the caller's process; the decoder side runs in a worker process
(:mod:`vcmbench.conformance.worker`) that constructs and prepares its own instance from the same
setup and sees nothing of the encoder but its bytes. A layered codec gets these checks on its
framed stream and, besides, those of :mod:`vcmbench.conformance.layered` on every prefix of layers.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcmbench.api.codec import BlockCodec, Codec, LayeredCodec, SampleCodec
from vcmbench.conformance import layered
from vcmbench.conformance.outputs import describe, finite_number, problem, stack
from vcmbench.conformance.session import WorkerDied, WorkerSession, WorkerTimeout
from vcmbench.conformance.setup import Setup, SetupSpec, build_setup, codec_label, resolve_codec
from vcmbench.errors import UsageError

CHECKS: dict[str, str] = {
    "contract": "the class says what it decodes to, its granularity, and a split point for features",
    "points": "every dict in operating_points() constructs the codec",
    "prepare": "the encoder, and a separate decoder instance, get ready with the setup's context",
    "bytes": "encode returns bytes (the rate is 8 × their length); estimate_bits is None or a number",
    "batch": "encode_batch gives the same bytes as encode, sample by sample",
    "roundtrip": "the encoding instance decodes its own streams into valid outputs",
    "count": "a block stream decodes to exactly as many outputs as samples went in",
    "separate-decoder": "an instance constructed and prepared in another process decodes the same outputs",
    "determinism": "the same inputs give the same bytes twice in one process, and in another process",
    "damage": "every cut, bit flip and extension of a stream gives BitstreamError or a valid output",
    "memory": "decoding a damaged stream stays within the memory budget",
    "hang": "decoding a damaged stream ends within the time limit",
    "crash": "decoding a damaged stream does not kill the process",
    **layered.LAYER_CHECKS,
}

STARTUP_TIMEOUT = 900.0  # seconds for a worker to import, build the setup, or prepare a codec


@dataclass(frozen=True)
class Finding:
    """One broken contract: which check, which codec and operating point, and what happened."""

    check: str
    codec: str
    params: dict[str, Any]
    message: str

    @property
    def where(self) -> str:
        """The codec and its operating point, as the run's progress lines show them."""
        return " ".join([self.codec, *(f"{k}={v}" for k, v in self.params.items())])

    def __str__(self) -> str:
        return f"{self.where}: [{self.check}] {self.message}"


@dataclass
class Options:
    time_limit: float = 10.0
    memory_budget: int = 1 << 30
    flips: int = 64
    seed: int = 0
    max_prefixes: int = 512


@dataclass
class _Point:
    """The encoder's side of one operating point."""

    label: str
    params: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, message: str) -> None:
        self.findings.append(Finding(check, self.label, dict(self.params), message))


def _error(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


def contract_findings(label: str, cls: type[Codec]) -> list[Finding]:
    out = []

    def add(check: str, message: str) -> None:
        out.append(Finding(check, label, {}, message))

    if getattr(cls, "decodes_to", None) not in ("input", "features", "label"):
        add("contract", f"decodes_to is {getattr(cls, 'decodes_to', None)!r}; one of input, features, label")
    if not (issubclass(cls, SampleCodec) or issubclass(cls, BlockCodec)):
        add("contract", "subclasses neither SampleCodec nor BlockCodec")
    if issubclass(cls, LayeredCodec):
        layered.declared_findings(cls, add)
    try:
        grid = cls.operating_points()
    except Exception as exc:
        add("points", f"operating_points() raised {_error(exc)}")
        return out
    if not isinstance(grid, list) or not all(isinstance(p, dict) for p in grid):
        add("points", "operating_points() must return a list of parameter dicts")
        return out
    for params in grid:
        try:
            cls(**params)
        except Exception as exc:
            out.append(Finding("points", label, dict(params), f"operating_points() lists it, construction "
                                                              f"raised {_error(exc)}"))
    return out


class Checker:
    """Checks operating points on one setup, with one worker process reused while it behaves."""

    def __init__(self, spec: SetupSpec, setup: Setup, options: Options, log: Callable[[str], None]):
        self.spec, self.setup, self.options, self.log = spec, setup, options, log
        self.session: WorkerSession | None = None
        self.guard_noted = False

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def _worker(self) -> WorkerSession:
        if self.session is None or self.session.process.poll() is not None:
            self.session = WorkerSession(self.spec, STARTUP_TIMEOUT)
        return self.session

    def grid(self, name: str, cls: type[Codec],
             points: str | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        if not isinstance(points, str):
            return [dict(p) for p in points]
        grid = self.setup.points.get(name)
        if grid is None:
            try:
                grid = list(cls.operating_points())
            except Exception:
                return []  # already a "points" finding
        return grid[:1] if points == "first" else grid

    # -- one operating point ------------------------------------------------------------------------
    def check_point(self, spec: str, label: str, cls: type[Codec], params: dict[str, Any]) -> list[Finding]:
        point = _Point(label, params)
        ctx, inputs = self.setup.context, self.setup.inputs
        try:
            encoder = cls(**params)
        except Exception as exc:
            point.add("points", f"construction raised {_error(exc)}")
            return point.findings
        try:
            encoder.prepare(ctx)
        except Exception as exc:
            point.add("prepare", f"prepare(ctx) raised {_error(exc)}")
            return point.findings
        blocks = self._blocks(encoder, len(inputs))
        started = time.perf_counter()
        streams = self._encode(point, encoder, blocks)
        if streams is None:
            return point.findings
        encode_seconds = time.perf_counter() - started
        started = time.perf_counter()
        own = self._own_decode(point, encoder, streams, blocks)
        decode_seconds = time.perf_counter() - started
        damaged = [0] if isinstance(encoder, BlockCodec) else list(range(min(2, len(streams))))
        stage_timeout = max(120.0, 50 * (encode_seconds + decode_seconds))
        case_timeout = max(self.options.time_limit, 50 * decode_seconds / max(1, len(streams)))
        self._separate(point, spec, encoder, streams, blocks, own, damaged, stage_timeout=stage_timeout,
                       case_timeout=case_timeout)
        if isinstance(encoder, LayeredCodec):
            self._layered(point, spec, encoder, blocks, stage_timeout=stage_timeout,
                          case_timeout=case_timeout)
        return point.findings

    def _layered(self, point: _Point, spec: str, codec: LayeredCodec, blocks: list[tuple[int, int]], *,
                 stage_timeout: float, case_timeout: float) -> None:
        """Every prefix of layers: here, then in the worker from its framed bytes alone, damaged too."""
        inputs, ctx = self.setup.inputs, self.setup.context
        encoded = layered.encode_layers(codec, inputs, blocks, point.add)
        if encoded is None:
            return
        mine = layered.decode_prefixes(codec, inputs, blocks, encoded, ctx.num_classes, point.add)
        request, keys = layered.prefix_request(spec, point.params, blocks, encoded, self.options)
        kinds = [codec.layers[k - 1].decodes_to for _, k in keys]
        stage = "starting the decoder's process"
        try:
            worker = self._worker()
            stage = "preparing a separate decoder for the prefixes"
            worker.send(request)
            if "error" in worker.receive(STARTUP_TIMEOUT):
                return  # already a "prepare" finding of the full stream's check
            stage = "decoding prefixes with the separate decoder"
            layered.compare_prefixes(worker.receive(stage_timeout), keys, mine, point.add)
            stage = "decoding damaged prefixes"
            bad: list[str] = []
            while True:
                reply = worker.receive(stage_timeout)
                if reply.get("stage") == "damaged":
                    total = reply["cases"]
                    break
                label = reply["label"]
                result = worker.receive(case_timeout)["result"]
                which = int(label.split(":", 1)[0].split()[-1])
                if not layered.damaged_result_ok(result, kinds[which], codec.decodes_to):
                    _, k = keys[which]
                    bad.append(f"layers 0..{k - 1}, {label.split(': ', 1)[1]} -> {result.split(': ', 1)[-1]}")
            if bad:
                point.add("prefix-damage", f"{len(bad)} of {total} damaged prefixes gave neither "
                                           f"BitstreamError nor an output; first: {bad[0]}")
            worker.receive(stage_timeout)  # encoded (the full streams: compared by the framed-stream check)
            worker.receive(stage_timeout)  # done
        except WorkerTimeout as exc:
            self.session = None
            point.add("hang", f"{stage}: {exc}")
        except WorkerDied as exc:
            self.session = None
            point.add("crash", f"{stage}: {exc}")

    @staticmethod
    def _blocks(codec: Codec, n: int) -> list[tuple[int, int]]:
        """Index ranges coded as one stream each: the harness's blocks, then blocks of 1 and 2."""
        if not isinstance(codec, BlockCodec):
            return [(i, i + 1) for i in range(n)]
        size = codec.block_size or n
        main = [(start, min(n, start + size)) for start in range(0, n, size)]
        return main + [(0, k) for k in (1, 2) if k < main[0][1]]

    def _encode(self, point: _Point, codec: Codec, blocks: list[tuple[int, int]]) -> list[bytes] | None:
        inputs = self.setup.inputs

        def encode_all() -> list[Any]:
            if isinstance(codec, BlockCodec):
                return [codec.encode_block(inputs[s:e]) for s, e in blocks]
            return list(codec.encode_batch(inputs))

        try:
            raw = encode_all()
        except Exception as exc:
            point.add("roundtrip", f"encoding raised {_error(exc)}")
            return None
        if len(raw) != len(blocks):
            point.add("bytes", f"encode_batch returned {len(raw)} streams for {len(blocks)} inputs")
            return None
        wrong = [type(s).__name__ for s in raw if type(s) is not bytes]
        if wrong:
            point.add("bytes", f"encode returned {wrong[0]} where bytes are due (the rate is 8 × len(bytes) "
                               f"of exactly what the decoder receives)")
            if not all(isinstance(s, bytes | bytearray) for s in raw):
                return None
        streams = [bytes(s) for s in raw]
        try:
            again = [bytes(s) for s in encode_all()]
            if again != streams:
                point.add("determinism", "encoding the same inputs twice in one process gave different bytes")
            if isinstance(codec, SampleCodec) and bytes(codec.encode(inputs[0])) != streams[0]:
                point.add("batch", "encode(x) and encode_batch([..., x, ...]) gave different bytes for x")
            first = inputs[blocks[0][0]:blocks[0][1]] if isinstance(codec, BlockCodec) else inputs
            estimate = codec.estimate_bits(first)
            if estimate is not None and not finite_number(estimate):
                point.add("bytes", f"estimate_bits returned {estimate!r}; it must be None or a non-negative "
                                   f"number of bits (recorded apart from the measured rate)")
        except Exception as exc:
            point.add("roundtrip", f"encoding again raised {_error(exc)}")
        return streams

    def _own_decode(self, point: _Point, codec: Codec, streams: list[bytes],
                    blocks: list[tuple[int, int]]) -> list[list[Any]] | None:
        ctx, inputs = self.setup.context, self.setup.inputs
        try:
            if isinstance(codec, BlockCodec):
                decoded = [list(codec.decode_block(s)) for s in streams]
            else:
                decoded = [[out] for out in codec.decode_batch(streams)]
        except Exception as exc:
            point.add("roundtrip", f"its own instance could not decode its stream: {_error(exc)}")
            return None
        if len(decoded) != len(blocks):
            point.add("count", f"decode_batch returned {len(decoded)} outputs for {len(blocks)} streams")
            return None
        for i, ((start, end), outputs) in enumerate(zip(blocks, decoded, strict=True)):
            if len(outputs) != end - start:
                point.add("count", f"stream {i} holds {end - start} samples, its decode returned "
                                   f"{len(outputs)}")
                return None
            for x, out in zip(inputs[start:end], outputs, strict=True):
                like = x if codec.decodes_to == "input" else None
                why = problem(out, codec.decodes_to, ctx.num_classes, like)
                if why is not None:
                    point.add("roundtrip", f"stream {i} decoded {why}")
                    return None
        if codec.decodes_to == "features" and ctx.task_model is not None:
            every = [out for outputs in decoded for out in outputs]
            try:
                ctx.task_model.predict_from_features(stack(every), codec.split)
            except Exception as exc:
                point.add("roundtrip", f"the task model cannot take the decoded features at split "
                                       f"{codec.split!r}: {_error(exc)}")
        return decoded

    def _separate(self, point: _Point, spec: str, encoder: Codec, streams: list[bytes],
                  blocks: list[tuple[int, int]], own: list[list[Any]] | None, damaged: list[int], *,
                  stage_timeout: float, case_timeout: float) -> None:
        options = self.options
        request = {"op": "point", "codec": spec, "params": point.params, "blocks": blocks,
                   "streams": [base64.b64encode(s).decode("ascii") for s in streams], "damage": damaged,
                   "flips": options.flips, "seed": options.seed, "max_prefixes": options.max_prefixes,
                   "memory_budget": options.memory_budget}
        stage = "starting the decoder's process"
        try:
            worker = self._worker()
            stage = "preparing a separate decoder"
            worker.send(request)
            reply = worker.receive(STARTUP_TIMEOUT)
            if "error" in reply:
                point.add("prepare", f"a separately constructed instance could not get ready: "
                                     f"{reply['error']}")
                return
            if reply.get("identity") != _jsonable(encoder.identity()):
                point.add("separate-decoder", f"encoder and decoder prepared different artifacts: "
                                              f"{encoder.identity()} and {reply.get('identity')}")
            stage = "decoding with the separate decoder"
            self._compare(point, worker.receive(stage_timeout), own, blocks)
            stage = "decoding damaged streams"
            self._damage(point, worker, stage_timeout, case_timeout)
            stage = "encoding in another process"
            reply = worker.receive(stage_timeout)
            if "error" in reply:
                point.add("determinism", f"encoding in another process raised {reply['error']}")
            elif reply["sha256"] != [hashlib.sha256(s).hexdigest() for s in streams]:
                differ = [i for i, (a, b) in enumerate(zip(reply["sha256"], streams, strict=False))
                          if a != hashlib.sha256(b).hexdigest()]
                point.add("determinism", f"another process encoded the same inputs to different bytes "
                                         f"(stream(s) {', '.join(map(str, differ[:5])) or 'count'})")
            worker.receive(stage_timeout)  # done
        except WorkerTimeout as exc:
            self.session = None
            point.add("hang", f"{stage}: {exc}")
        except WorkerDied as exc:
            self.session = None
            point.add("crash", f"{stage}: {exc}")

    def _compare(self, point: _Point, reply: dict[str, Any], own: list[list[Any]] | None,
                 blocks: list[tuple[int, int]]) -> None:
        if "error" in reply:
            point.add("separate-decoder", f"a separately prepared decoder could not decode the stream: "
                                          f"{reply['error']}")
            return
        for i, ((start, end), theirs) in enumerate(zip(blocks, reply["outputs"], strict=True)):
            if len(theirs) != end - start:
                point.add("count", f"stream {i} holds {end - start} samples, a separate decoder returned "
                                   f"{len(theirs)}")
                return
            bad = next((t["problem"] for t in theirs if t["problem"]), None)
            if bad:
                point.add("separate-decoder", f"a separately prepared decoder decoded stream {i} to {bad}")
                return
            if own is None:
                continue
            for j, (mine, other) in enumerate(zip(own[i], theirs, strict=True)):
                d = describe(mine)
                if d["digest"] != other["digest"]:
                    point.add("separate-decoder", f"stream {i}, output {j}: a separately prepared decoder "
                                                  f"returned {other['kind']} {other['shape']}, the encoding "
                                                  f"instance {d['kind']} {d['shape']}".replace("  ", " "))
                    return

    def _damage(self, point: _Point, worker: WorkerSession, stage_timeout: float,
                case_timeout: float) -> None:
        failures: dict[str, list[str]] = {}
        label = ""
        while True:
            reply = worker.receive(stage_timeout)
            if reply.get("stage") == "damaged":
                if not reply.get("guarded") and not self.guard_noted:
                    self.log("note: no address-space cap on this platform; the memory check is off")
                    self.guard_noted = True
                total = reply["cases"]
                break
            label = reply["label"]
            try:
                result = worker.receive(case_timeout)["result"]
            except WorkerTimeout:
                raise WorkerTimeout(f"{label}: no result within {case_timeout:.0f} s") from None
            except WorkerDied as exc:
                raise WorkerDied(f"{label}: {exc}") from None
            if result in ("bitstream-error", "valid"):
                continue
            kind = "memory" if result.startswith("memory:") else "damage"
            failures.setdefault(kind, []).append(f"{label} -> {result.split(': ', 1)[1]}")
        for kind, examples in failures.items():
            what = ("allocated beyond the memory budget" if kind == "memory"
                    else "gave neither BitstreamError nor a valid output")
            point.add(kind, f"{len(examples)} of {total} damaged streams {what}; first: {examples[0]}")


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def check_codecs(codecs: Sequence[str | type[Codec]], *, suite: str = "mnist", setup: str | None = None,
                 setup_kwargs: dict[str, Any] | None = None, limit: int = 20,
                 points: str | Sequence[dict[str, Any]] = "all", data_root: str | Path | None = None,
                 cache_dir: str | Path | None = None, device: str = "cpu", train: bool = False,
                 time_limit: float = 10.0, memory_budget: int = 1 << 30, flips: int = 64, seed: int = 0,
                 max_prefixes: int = 512, log: Callable[[str], None] | None = None) -> list[Finding]:
    """Every contract check on each codec; the findings (an empty list: the codecs conform).

    ``codecs``: registered names or ``"module:Class"`` strings (a class object is accepted if it
    is importable by its module and name, which the separate process needs). The codecs are
    prepared with ``suite`` limited to its first ``limit`` test samples, or with the
    :class:`~vcmbench.conformance.setup.Setup` returned by the ``setup`` factory
    (``"module:function"``, called with ``cache_dir=`` and ``setup_kwargs`` in both processes).
    ``points``: ``"all"`` (the suite's points for the codec, else its ``operating_points()``),
    ``"first"``, or a list of parameter dicts. ``cache_dir``: where task models and checkpoints
    are found (and trained ones written; ``train`` allows training); a temporary folder when
    None. ``time_limit`` seconds and ``memory_budget`` bytes bound the decoding of each damaged
    stream.
    """
    log = log or (lambda line: None)
    if isinstance(points, str) and points not in ("all", "first"):
        raise UsageError(f"points must be 'all', 'first' or a list of parameter dicts, got {points!r}")
    if limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}")
    specs = [c if isinstance(c, str) else f"{c.__module__}:{c.__qualname__}" for c in codecs]
    classes = [resolve_codec(s) for s in specs]  # unknown names fail before any data loads
    options = Options(time_limit, memory_budget, flips, seed, max_prefixes)
    findings: list[Finding] = []
    with ExitStack() as stack_:
        if cache_dir is None:
            cache_dir = stack_.enter_context(tempfile.TemporaryDirectory(prefix="vcmbench-conformance-"))
        spec = SetupSpec(suite=None if setup else suite, limit=limit,
                         data_root=str(data_root) if data_root else None, cache_dir=str(cache_dir),
                         device=device, train=train, factory=setup, kwargs=dict(setup_kwargs or {}))
        the_setup = build_setup(spec)
        if not the_setup.inputs:
            raise UsageError("the conformance setup has no inputs to code")
        checker = Checker(spec, the_setup, options, log)
        stack_.callback(checker.close)
        for name, cls in zip(specs, classes, strict=True):
            label = codec_label(name, cls)
            found = contract_findings(label, cls)
            for params in checker.grid(name, cls, points):
                point_findings = [f for f in checker.check_point(name, label, cls, params) if f not in found]
                verdict = f"{len(point_findings)} finding(s)" if point_findings else "ok"
                log(f"  {Finding('', label, params, '').where}: {verdict}")
                found += point_findings
            findings += found
    return findings


def check_codec(codec: str | type[Codec], **options: Any) -> list[Finding]:
    """:func:`check_codecs` for one codec."""
    return check_codecs([codec], **options)


def assert_codec_conforms(codec: str | type[Codec], **options: Any) -> None:
    """For a codec package's tests: AssertionError listing every finding, if there is any."""
    findings = check_codec(codec, **options)
    if findings:
        raise AssertionError(f"{len(findings)} conformance finding(s):\n" + "\n".join(map(str, findings)))
