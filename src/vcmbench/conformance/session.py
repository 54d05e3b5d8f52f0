"""The caller's end of the separate decoder: start the worker process, talk to it, time it, end it.

Each reply is awaited with a deadline; a worker that misses one (a decoder that hangs) or dies
(a decoder that crashes the interpreter) is killed by its process id, and the caller starts a
fresh one for the next operating point. The worker's stderr goes to a temporary file, whose
tail explains a crash.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from typing import IO, Any

from vcmbench.conformance.setup import SetupSpec


class WorkerTimeout(Exception):
    """The worker did not answer in time (it is killed)."""


class WorkerDied(Exception):
    """The worker's process ended without answering."""


def worker_environment() -> dict[str, str]:
    """The caller's environment, its import path (a codec under test may live beside its tests),
    and its own string-hash seed: bytes that depend on hash order differ between the processes."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
    env["PYTHONHASHSEED"] = "random"
    return env


class WorkerSession:
    """One worker process, set up with ``spec`` and ready for requests."""

    def __init__(self, spec: SetupSpec, startup_timeout: float):
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vcmbench.conformance.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, env=worker_environment(), text=True, bufsize=1,
        )
        self._replies: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send({"op": "setup", "spec": spec.to_json()})
        reply = self.receive(startup_timeout)
        if not reply.get("ok"):
            self.close()
            raise WorkerDied(f"the worker could not build the setup: {reply.get('error')}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(self.why_dead()) from exc

    def receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise WorkerTimeout(f"no answer within {timeout:.0f} s") from None
        if line is None:
            self.process.wait()
            raise WorkerDied(self.why_dead())
        return json.loads(line)

    def why_dead(self) -> str:
        code = self.process.poll()
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        what = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return f"the decoder's process ended ({what})" + (f": {' | '.join(tail)}" if tail else "")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._stderr.close()
