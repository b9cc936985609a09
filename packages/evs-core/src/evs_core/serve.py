"""Start an OpenAI-compatible server for a model, wait until it is healthy, stop it on exit.

Used by ``evs perf --serve-model`` and ``evs eval --serve-model``. Backends:

* ``vllm``: ``vllm serve MODEL`` (when vLLM is installed) — the real serving engine;
* ``transformers``: evs-native's small server (``python -m evs_native.serve``, needs
  ``evs-native[local]``) — a convenience for measuring without standing up a server by hand,
  one request generating at a time; not a serving benchmark;
* ``auto``: vLLM when it is installed, else transformers.

The server listens on a free 127.0.0.1 port, in its own process group, and is told to die with
evs (``PR_SET_PDEATHSIG``), so it is gone after a normal exit, a failure, Ctrl-C or SIGTERM,
and even after ``kill -9`` of evs. Every check (model path, backend installed) happens before
anything starts; a server that exits or never becomes healthy within ``ready_timeout`` seconds
is stopped and reported with the last lines of its log.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError

BACKENDS = ("auto", "transformers", "vllm")
#: Offline aliases the transformers backend knows (evs-native's local model).
ALIASES = ("smollm2-135m-instruct", "smollm2")


def _vllm_installed() -> bool:
    return shutil.which("vllm") is not None or importlib.util.find_spec("vllm") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the process group and atexit still apply
        pass


class ServedModel:
    """A model server for the duration of a ``with`` block; ``url`` is its ``/v1`` base URL."""

    def __init__(self, model: str, backend: str = "auto", serve_args: dict[str, Any] | None = None,
                 ready_timeout: float = 600.0, log_path: str | Path | None = None) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, not '{backend}'")
        if serve_args is not None and not isinstance(serve_args, dict):
            raise ConfigError("--serve-args must be a JSON object, e.g. '{\"max_model_len\": 4096}'")
        if not (isinstance(ready_timeout, (int, float)) and ready_timeout > 0):
            raise ConfigError(f"the server ready timeout must be a positive number of seconds, not {ready_timeout!r}")
        self.model = str(model)
        p = Path(self.model).expanduser()
        looks_local = p.exists() or self.model.startswith((".", "/", "~")) or self.model.count("/") > 1
        if looks_local and not p.exists():
            raise ConfigError(f"--serve-model: model path does not exist: {self.model}")
        if backend == "auto":
            backend = "vllm" if _vllm_installed() and self.model not in ALIASES else "transformers"
        if backend == "vllm" and not _vllm_installed():
            raise ConfigError("--backend vllm: vLLM is not installed (pip install vllm), or use --backend transformers")
        if backend == "transformers" and importlib.util.find_spec("evs_native") is None:
            raise ConfigError('--backend transformers needs evs-native with local models: '
                              'pip install torch==2.13.0 "evs-native[local]"')
        self.backend = backend
        self.serve_args = dict(serve_args or {})
        self.ready_timeout = float(ready_timeout)
        self.name = p.name if looks_local else self.model
        self._log_path = Path(log_path) if log_path else None
        self._log_file = None
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self, port: int) -> list[str]:
        if self.backend == "vllm":
            exe = shutil.which("vllm")
            cmd = [exe] if exe else [sys.executable, "-m", "vllm.entrypoints.cli.main"]
            cmd += ["serve", self.model, "--host", "127.0.0.1", "--port", str(port),
                    "--served-model-name", self.name]
            for key, value in self.serve_args.items():
                flag = "--" + str(key).replace("_", "-")
                if value is True:
                    cmd.append(flag)
                elif value is not False and value is not None:
                    cmd += [flag, value if isinstance(value, str) else json.dumps(value)]
            return cmd
        return [sys.executable, "-m", "evs_native.serve", "--model", self.model, "--host", "127.0.0.1",
                "--port", str(port), "--served-model-name", self.name, "--model-args", json.dumps(self.serve_args)]

    def log_tail(self, n: int = 12) -> str:
        if self._log_file is None:
            return ""
        self._log_file.flush()
        try:
            lines = Path(self._log_file.name).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def start(self) -> ServedModel:
        self.port = _free_port()
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self._log_path.open("w", encoding="utf-8")
        else:
            self._log_file = tempfile.NamedTemporaryFile("w", prefix="evs-serve-", suffix=".log", delete=False)
        env = dict(os.environ)
        if Path(self.model).expanduser().exists() or self.model in ALIASES:
            env["HF_HUB_OFFLINE"] = "1"  # a local model never triggers a download
        self.proc = subprocess.Popen(self.command(self.port), stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        health = f"http://127.0.0.1:{self.port}/health"
        while True:
            code = self.proc.poll() if self.proc else None
            if code is not None:
                raise EvsError(f"the {self.backend} server for {self.model} exited with code {code} before it was "
                               f"ready; its last log lines:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(health, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise EvsError(f"the {self.backend} server for {self.model} was not healthy after "
                               f"{self.ready_timeout:g} s; its last log lines:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        elif proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # children it may have left
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            if self._log_path is None:
                with contextlib.suppress(OSError):
                    os.unlink(self._log_file.name)
            self._log_file = None

    def __enter__(self) -> ServedModel:
        self._old_term = signal.getsignal(signal.SIGTERM)

        def on_term(signum, frame):  # SIGTERM stops the run like Ctrl-C: the server is stopped on the way out
            raise KeyboardInterrupt

        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            signal.signal(signal.SIGTERM, on_term)
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, self._old_term)
