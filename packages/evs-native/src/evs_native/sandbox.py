"""Run model-written programs in a contained subprocess (HumanEval, LiveCodeBench).

Each program runs in its own Python subprocess (``_sandbox_child.py``) with:

* a wall-clock timeout; the child leads a new session, and its whole process group is killed
  (SIGKILL) on timeout and after it exits;
* resource limits (``setrlimit``): CPU seconds, address space, size of any file written,
  number of processes (not enforced by Linux for root, so forks are also refused below), no
  core dumps;
* a fresh temporary working directory (also ``HOME`` and ``TMPDIR``), deleted afterwards;
* no network: on Linux the child moves into an empty network namespace (``unshare``; as root,
  or through a user namespace where unprivileged ones are allowed), and in every case an audit
  hook refuses ``socket.connect``/``bind``/``sendto``;
* the audit hook also refuses process creation (fork, exec, spawn, subprocess, system),
  signals to other processes, ``ctypes`` loading, raising limits, and any write, rename,
  delete or chmod outside the working directory.

A program that trips any of these fails; it never fails the run. Programs run concurrently,
at most ``EVS_SANDBOX_WORKERS`` at once (default: the number of CPUs, at most 8), through
:func:`arun`, which never blocks the event loop. This contains the accidents of model-written
code; it is not a boundary against a deliberate attacker (use a VM for that).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("_sandbox_child.py")
OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class Limits:
    """Limits of one sandboxed program."""

    timeout: float = 10.0  # wall-clock seconds for the whole program
    test_timeout: float = 6.0  # seconds per test case (LiveCodeBench modes)
    cpu_seconds: int | None = None  # default: the timeout rounded up, plus one
    memory_mb: int = 2048  # address space
    file_size_mb: int = 16  # largest file the program may write
    max_processes: int = 512  # RLIMIT_NPROC (counts all processes of the user; ignored for root)
    network: bool = False

    def child_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["cpu_seconds"] is None:
            d["cpu_seconds"] = int(self.timeout) + 1
        return d


@dataclass
class Result:
    """What happened to one program."""

    passed: bool
    status: str  # passed | failed | timeout | crashed
    details: dict[str, Any] = field(default_factory=dict)  # the child's verdict
    returncode: int | None = None
    duration_s: float = 0.0
    stdout: str = ""
    stderr: str = ""

    @property
    def error(self) -> str | None:
        if self.passed:
            return None
        if self.status == "timeout":
            return "timed out"
        if self.status == "crashed":
            sig = -self.returncode if self.returncode and self.returncode < 0 else None
            name = signal.Signals(sig).name if sig else f"exit code {self.returncode}"
            tail = self.stderr.strip().splitlines()[-1:] or [""]
            return f"crashed ({name}) {tail[0]}".strip()
        return str(self.details.get("error") or "failed")


def workers() -> int:
    env = os.environ.get("EVS_SANDBOX_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(8, os.cpu_count() or 1))


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def run(program: str, *, mode: str = "script", tests: dict[str, Any] | None = None,
        limits: Limits | None = None, stdin: str | None = None) -> Result:
    """Run ``program`` in a contained subprocess and wait for it (blocking).

    ``mode``: ``script`` (pass = runs to the end without an exception), ``call`` or ``stdio``
    (LiveCodeBench tests ``{"inputs": [...], "outputs": [...], "fn_name": ...}``).
    """
    limits = limits or Limits()
    base = Path(tempfile.mkdtemp(prefix="evs-sandbox-"))
    work = base / "work"
    work.mkdir()
    nonce = "@@evs-" + secrets.token_hex(8) + "@@"
    # Tests run in sequence: each gets its own time, plus the start-up allowance.
    n_tests = len((tests or {}).get("inputs") or []) if mode != "script" else 0
    wall = limits.timeout + (limits.test_timeout + 1) * n_tests
    child_limits = limits.child_dict()
    if limits.cpu_seconds is None:
        child_limits["cpu_seconds"] = int(wall) + 1
    job = {"mode": mode, "program": program, "tests": tests, "nonce": nonce, "workdir": str(work),
           "limits": child_limits, "test_timeout": limits.test_timeout}
    job_path = base / "job.json"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    out_path, err_path = base / "stdout", base / "stderr"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "TMPDIR": str(work),
           "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT"):
        if key in os.environ:
            env[key] = os.environ[key]
    start = time.perf_counter()
    returncode: int | None = None
    timed_out = False
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            stdin_arg: Any = subprocess.DEVNULL
            if stdin is not None:
                in_path = base / "stdin"
                in_path.write_text(stdin, encoding="utf-8")
                stdin_arg = open(in_path, "rb")  # noqa: SIM115 - closed below
            try:
                proc = subprocess.Popen([sys.executable, "-I", str(CHILD), str(job_path)], stdin=stdin_arg,
                                        stdout=out, stderr=err, cwd=str(work), env=env, start_new_session=True,
                                        close_fds=True)
            finally:
                if stdin_arg is not subprocess.DEVNULL:
                    stdin_arg.close()
            try:
                returncode = proc.wait(timeout=wall)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc.pid)
                returncode = proc.wait()
            finally:
                _kill_group(proc.pid)  # stragglers left in the group
        duration = time.perf_counter() - start
        stdout, stderr = _tail(out_path), _tail(err_path)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    details: dict[str, Any] = {}
    idx = stdout.rfind(nonce)
    if idx >= 0:
        line = stdout[idx + len(nonce):].split("\n", 1)[0]
        try:
            details = json.loads(line)
        except json.JSONDecodeError:
            details = {}
        stdout = stdout[:idx].rstrip("\n")
    if timed_out:
        status, passed = "timeout", False
    elif not details:
        status, passed = "crashed", False
    else:
        passed = bool(details.get("passed"))
        status = "passed" if passed else ("timeout" if details.get("error_code") == -3 else "failed")
    return Result(passed=passed, status=status, details=details, returncode=returncode, duration_s=duration,
                  stdout=stdout[-OUTPUT_TAIL:], stderr=stderr[-OUTPUT_TAIL:])


_semaphores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    sem = _semaphores.get(loop)
    if sem is None:
        sem = _semaphores[loop] = asyncio.Semaphore(workers())
    return sem


async def arun(program: str, **kwargs: Any) -> Result:
    """:func:`run` in a worker thread, at most :func:`workers` programs at once."""
    async with _semaphore():
        return await asyncio.to_thread(run, program, **kwargs)
