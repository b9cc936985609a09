"""Run model-written programs in a kernel-enforced sandbox (HumanEval, LiveCodeBench).

Each program runs under bubblewrap (``bwrap``, Debian package ``bubblewrap``) in its own user,
PID, mount, IPC, UTS, cgroup and network namespaces:

* as a real unprivileged host uid (``nobody`` when evs runs as root, ``EVS_SANDBOX_UID`` to
  choose another; the caller's own uid otherwise), with no capabilities, no new privileges
  and no further user namespaces;
* on a read-only view of ``/usr`` (and the ``/bin``, ``/lib``… links), a few files of
  ``/etc`` and the Python installation; a private, size-limited ``/tmp`` is the only writable
  place (also ``HOME`` and the working directory). Nothing of evs is mounted: not the work
  dir, the data, the configs, the sources, nor any other process (a fresh ``/proc`` of the
  sandbox's own PID namespace); a clean environment (no API key);
* an empty network namespace (only its own loopback);
* resource limits (``setrlimit``): CPU seconds, address space, size of a file, number of
  processes (counted inside the sandbox's user namespace), no core dumps; a wall-clock timeout;
* every process of a program dies with it: the checker is PID 1 of the PID namespace, so when
  it ends (or bwrap, or evs, dies: ``--die-with-parent``) the kernel kills every process left,
  ``setsid`` or not.

The verdict comes from a checker process the program cannot reach (see
``_sandbox_child.py``): the program never holds the tests' expected answers nor the channel
the verdict is written to, and its return values reach the checker as plain data.

When evs runs as root and the Python installation sits under a directory the sandbox uid may
not enter (a pyenv install in the root user's home…), a private mount namespace is prepared once per process
(``unshare --mount``) in which that directory is covered by a read-only bind of the
installation alone; each sandbox is started in it with ``nsenter``, and the namespace lives
only as long as evs holds a file descriptor to it.

Without namespaces (no bwrap, user namespaces disabled) code benchmarks refuse to run unless
the user opts out explicitly (``isolation="unsafe-none"``): a plain subprocess with the same
limits, a temporary directory, a clean environment and a best-effort audit hook, as the
calling user. Programs run concurrently, at most ``EVS_SANDBOX_WORKERS`` at once (default:
the number of CPUs, at most 8), through :func:`arun`, which never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("_sandbox_child.py")
OUTPUT_TAIL = 4000
ISOLATIONS = ("bwrap", "unsafe-none")
START_GRACE = 10.0  # seconds allowed for the sandbox to start, beyond the program's own limits
SYSTEM_LINKS = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "passwd", "group",
             "nsswitch.conf")


class SandboxUnavailable(RuntimeError):
    """The requested isolation cannot run on this machine."""


@dataclass(frozen=True)
class Limits:
    """Limits of one sandboxed program."""

    timeout: float = 10.0  # wall-clock seconds for the whole program
    test_timeout: float = 6.0  # seconds per test case (LiveCodeBench modes)
    cpu_seconds: int | None = None  # default: the wall-clock budget rounded up, plus one
    memory_mb: int = 2048  # address space of the program
    file_size_mb: int = 16  # largest file the program may write
    max_processes: int = 64  # processes and threads of the sandbox (RLIMIT_NPROC in its user namespace)
    tmp_mb: int = 64  # size of the private /tmp
    network: bool = False  # share the host's network (never for model-written code)

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
    details: dict[str, Any] = field(default_factory=dict)  # the checker's verdict
    returncode: int | None = None
    duration_s: float = 0.0
    stdout: str = ""
    stderr: str = ""

    @property
    def error(self) -> str | None:
        if self.passed:
            return None
        if self.details.get("error"):
            return str(self.details["error"])
        if self.status == "timeout":
            return "timed out"
        sig = -self.returncode if self.returncode and self.returncode < 0 else None
        name = signal.Signals(sig).name if sig else f"exit code {self.returncode}"
        tail = self.stderr.strip().splitlines()[-1:] or [""]
        return f"crashed ({name}) {tail[0]}".strip()


def workers() -> int:
    env = os.environ.get("EVS_SANDBOX_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(8, os.cpu_count() or 1))


# -- where and as whom -----------------------------------------------------------------------------
def sandbox_ids() -> tuple[int, int] | None:
    """The host uid/gid programs run as when evs is root (None: run as the calling user)."""
    if os.geteuid() != 0:
        return None
    env = os.environ.get("EVS_SANDBOX_UID")
    if env:
        uid = int(env)
        return uid, int(os.environ.get("EVS_SANDBOX_GID", env))
    import pwd

    try:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return 65534, 65534


def _may_enter(path: str, uid: int, gid: int) -> bool:
    """Whether ``uid`` may walk down to ``path`` and read it (mode bits; root is not exempt here)."""
    p = Path(path)
    for d in [*reversed(p.parents), p]:
        try:
            st = d.stat()
        except OSError:
            return False
        bits = 0o100 if st.st_uid == uid else 0o010 if st.st_gid == gid else 0o001
        if not st.st_mode & bits:
            return False
    return True


def _python_paths() -> list[str]:
    """The directories the interpreter needs, outside /usr, outermost first."""
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    out: list[str] = []
    for p in sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, exe_dir},
                    key=lambda x: (len(x), x)):
        p = os.path.realpath(p)
        if p == "/usr" or p.startswith("/usr/"):
            continue
        if any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
            continue
        out.append(p)
    return out


_lock = threading.Lock()
_stage: dict[str, Any] = {}
_probe: dict[str, str | None] = {}


@atexit.register
def _release() -> None:
    """Close the staged mount namespace and the checker's code file (both live as long as evs)."""
    if "fd" in _stage:
        os.close(_stage.pop("fd"))
    if "code" in _stage:
        _stage.pop("code")[0].close()

_STAGE_SCRIPT = r'''
set -e
i=3
for s in $SOURCES; do eval "exec $i<\"\$s\""; i=$((i + 1)); done
for b in $TOPS; do mount -t tmpfs -o mode=0755,size=1m evs-stage "$b"; done
i=3
for s in $SOURCES; do
  mkdir -p "$s"
  mount --no-canonicalize --bind "/proc/self/fd/$i" "$s"
  mount -o remount,bind,ro "$s"
  i=$((i + 1))
done
echo ready
read _
'''


def _staging_fd(uid: int, gid: int, sources: list[str]) -> int | None:
    """A mount namespace where ``sources`` are readable by ``uid``; None when no staging is needed."""
    blocked = [s for s in sources if not _may_enter(s, uid, gid)]
    if not blocked:
        return None
    with _lock:
        if "fd" in _stage:
            return _stage["fd"]
        if len(blocked) > 6:
            raise SandboxUnavailable("too many Python directories to stage")
        tops: list[str] = []
        for s in blocked:
            p = Path(s)
            top = next(str(d) for d in [*reversed(p.parents), p] if not _may_enter(str(d), uid, gid))
            if top == "/":
                raise SandboxUnavailable(f"uid {uid} may not enter /")
            if top not in tops:
                tops.append(top)
        tools = [shutil.which(t) for t in ("unshare", "mount", "sh")]
        if not all(tools):
            raise SandboxUnavailable("staging the Python installation needs unshare, mount and sh (util-linux)")
        if any(c.isspace() or c in "\"$`\\" for c in "".join(blocked + tops)):
            raise SandboxUnavailable("a Python directory whose path has spaces or quotes cannot be staged")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SOURCES": " ".join(blocked), "TOPS": " ".join(tops)}
        holder = subprocess.Popen(
            [tools[0], "--mount", "--propagation", "private", tools[2], "-c", _STAGE_SCRIPT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert holder.stdout is not None and holder.stdin is not None
        line = holder.stdout.readline()
        try:
            if line.strip() != b"ready":
                err = holder.stderr.read().decode("utf-8", "replace").strip() if holder.stderr else ""
                raise SandboxUnavailable(f"could not prepare the sandbox's mount namespace: {err or 'no reply'}")
            fd = os.open(f"/proc/{holder.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            holder.stdin.close()
            holder.wait()
            holder.stdout.close()
            if holder.stderr:
                holder.stderr.close()
        _stage["fd"] = fd
        return fd


def _bwrap_args(bwrap: str, limits: Limits, ids: tuple[int, int] | None) -> list[str]:
    uid, gid = ids if ids else (os.getuid(), os.getgid())
    a = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(uid), "--gid", str(gid),
         "--hostname", "sandbox", "--die-with-parent", "--new-session", "--as-pid-1", "--cap-drop", "ALL",
         "--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin", "--setenv", "HOME", "/tmp",
         "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8", "--setenv", "OMP_NUM_THREADS", "1",
         "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "MKL_NUM_THREADS", "1"]
    if limits.network:
        a.append("--share-net")
    a += ["--ro-bind", "/usr", "/usr"]
    for name in SYSTEM_LINKS:
        path = "/" + name
        if os.path.islink(path):
            a += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            a += ["--ro-bind", path, path]
    for name in ETC_FILES:
        a += ["--ro-bind-try", "/etc/" + name, "/etc/" + name]
    a += ["--proc", "/proc", "--dev", "/dev", "--size", str(int(limits.tmp_mb) * 1024 * 1024), "--tmpfs", "/tmp"]
    for p in _python_paths():
        a += ["--ro-bind", p, p]
    a += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp"]
    return a


# The sandbox's first (and only) Python: load the checker's code object from an inherited file
# (compiled once per evs process: no source to compile per program), close it, run main().
_BOOT = ("import marshal,os,sys\n"
         "f,n=int(sys.argv[1]),int(sys.argv[2])\n"
         "c=marshal.loads(os.pread(f,n,0))\n"
         "os.close(f)\n"
         "g={'__name__':'evs_sandbox_child','__builtins__':__builtins__}\n"
         "exec(c,g)\n"
         "g['main'](sys.argv[3:])\n")


def _child_code() -> tuple[int, int]:
    """(fd, size) of a file holding the marshalled code of ``_sandbox_child.py``."""
    with _lock:
        if "code" not in _stage:
            import marshal

            data = marshal.dumps(compile(CHILD.read_text(encoding="utf-8"), str(CHILD), "exec"))
            f = tempfile.TemporaryFile()
            f.write(data)
            f.flush()
            _stage["code"] = (f, len(data))
        f, size = _stage["code"]
        return f.fileno(), size


# -- availability ------------------------------------------------------------------------------------
def availability(isolation: str = "bwrap") -> str | None:
    """None when programs can run with ``isolation`` here, else why not (one line)."""
    if isolation not in ISOLATIONS:
        return f"unknown sandbox isolation {isolation!r} (valid: {', '.join(ISOLATIONS)})"
    if isolation == "unsafe-none":
        return None
    if isolation in _probe:
        return _probe[isolation]
    reason: str | None
    if not sys.platform.startswith("linux"):
        reason = "the sandbox needs Linux namespaces"
    elif not shutil.which("bwrap"):
        reason = "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    else:
        try:
            r = run("pass", limits=Limits(timeout=30), isolation=isolation)
        except SandboxUnavailable as exc:
            reason = str(exc)
        except OSError as exc:
            reason = f"bwrap could not start: {exc}"
        else:
            if r.passed and r.details.get("checker_protected"):
                reason = None
            elif r.passed:
                reason = "the sandbox's checker could not protect itself (prctl)"
            else:
                tail = (r.stderr.strip().splitlines() or [r.error or "no verdict"])[-1]
                reason = f"bwrap cannot create its namespaces here: {tail}"
    _probe[isolation] = reason
    return reason


def require(isolation: str = "bwrap") -> None:
    """Raise :class:`SandboxUnavailable` when programs cannot run with ``isolation`` here."""
    reason = availability(isolation)
    if reason:
        raise SandboxUnavailable(reason)


# -- one program ------------------------------------------------------------------------------------
def _tail(f) -> str:
    try:
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


def _json_file(obj: Any):
    f = tempfile.TemporaryFile()
    f.write(json.dumps(obj).encode("utf-8"))
    f.flush()
    f.seek(0)
    return f


def run(program: str, *, mode: str = "script", tests: dict[str, Any] | None = None,
        limits: Limits | None = None, stdin: str | None = None, isolation: str = "bwrap") -> Result:
    """Run ``program`` in the sandbox and wait for it (blocking).

    ``mode``: ``check`` (HumanEval: ``tests = {"prompt": ..., "test": code defining
    check(candidate), "entry_point": name}``; ``program`` = prompt + completion), ``call`` or ``stdio``
    (LiveCodeBench ``tests = {"inputs": [...], "outputs": [...], "fn_name": ...}``), or
    ``asserts`` (MBPP: ``tests = {"prompt": setup code run on both sides, "test": statements
    naming the program's functions, "names": the names they use, "in_process"?}``; the statements
    run in the checker, the functions in the candidate; ``in_process``, decided by the caller from
    the data, runs them in the candidate instead), ``command`` (MultiPL-E: ``program`` unused,
    ``tests = {"files": {name: text}, "steps": [{"name", "argv", "timeout"?, "limits"?,
    "fail_markers"?, "stderr_fails"?}], "env"?}``; the checker writes the files and runs each step
    as its own process; pass = every step exits 0 without a failure sign), ``unittest`` (BigCodeBench: ``program`` = solution + its
    ``TestCases`` class, run in one process as BigCodeBench's harness does; pass = no failure or
    error; the outcome is the program's own report), or
    ``script`` (pass = the program runs to its end, as the program itself reports; for
    trusted code and containment tests). ``isolation``: ``bwrap`` or ``unsafe-none``.
    """
    if isolation not in ISOLATIONS:
        raise SandboxUnavailable(f"unknown sandbox isolation {isolation!r} (valid: {', '.join(ISOLATIONS)})")
    limits = limits or Limits()
    tests = tests or {}
    n_tests = len(tests.get("inputs") or []) if mode in ("call", "stdio") else 0
    wall = limits.timeout + (limits.test_timeout + 1) * n_tests
    command = None
    if mode == "command":
        steps = [{**s, "timeout": float(s.get("timeout") or limits.timeout)} for s in tests.get("steps") or []]
        if not steps:
            raise ValueError("sandbox.run(mode='command') needs tests['steps']")
        wall = sum(s["timeout"] + 1 for s in steps)
        step_limits = limits.child_dict()
        if limits.cpu_seconds is None:
            step_limits["cpu_seconds"] = int(max(s["timeout"] for s in steps)) + 1
        command = {"files": {str(k): str(v) for k, v in (tests.get("files") or {}).items()}, "steps": steps,
                   "env": dict(tests.get("env") or {}), "limits": step_limits}
    child_limits = limits.child_dict()
    if limits.cpu_seconds is None:
        child_limits["cpu_seconds"] = int(wall) + 1
    checker_job = {"mode": mode, "timeout": limits.timeout, "test_timeout": limits.test_timeout,
                   "prompt": tests.get("prompt"), "test": tests.get("test"),
                   "entry_point": tests.get("entry_point"), "tests": tests if mode in ("call", "stdio") else None,
                   "command": command, "in_process": bool(tests.get("in_process")) if mode == "asserts" else False}
    program_job = {"mode": mode, "program": program if mode != "command" else "", "limits": child_limits,
                   "entry_point": tests.get("entry_point"), "fn_name": tests.get("fn_name"),
                   "names": tests.get("names") if mode == "asserts" else None}
    files = [_json_file(checker_job), _json_file(program_job), tempfile.TemporaryFile(),
             tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    job_f, prog_f, verdict_f, out_f, err_f = files
    fds = [job_f.fileno(), prog_f.fileno(), verdict_f.fileno()]
    workdir: str | None = None
    in_f = None
    kwargs: dict[str, Any] = {}
    try:
        if stdin is not None:
            in_f = tempfile.TemporaryFile()
            in_f.write(stdin.encode("utf-8"))
            in_f.flush()
            in_f.seek(0)
        code_fd, code_size = _child_code()
        py = [sys.executable, "-I", "-B", "-c", _BOOT, str(code_fd), str(code_size), *map(str, fds)]
        if isolation == "bwrap":
            bwrap = shutil.which("bwrap")
            if not bwrap:
                raise SandboxUnavailable("bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
            ids = sandbox_ids()
            argv = _bwrap_args(bwrap, limits, ids) + py
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
            pass_fds = [*fds, code_fd]
            if ids is not None:
                ns_fd = _staging_fd(*ids, _python_paths())
                if ns_fd is None:
                    kwargs.update(user=ids[0], group=ids[1], extra_groups=[])
                else:
                    nsenter = shutil.which("nsenter")
                    if not nsenter:
                        raise SandboxUnavailable("nsenter (util-linux) is needed to start the sandbox as root")
                    argv = [nsenter, f"--mount=/proc/self/fd/{ns_fd}", "-S", str(ids[0]), "-G", str(ids[1]),
                            "--", *argv]
                    pass_fds.append(ns_fd)
            cwd = "/"
        else:
            workdir = tempfile.mkdtemp(prefix="evs-sandbox-")
            argv = py + [workdir]
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "TMPDIR": workdir,
                   "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            pass_fds = [*fds, code_fd]
            cwd = workdir
        start = time.perf_counter()
        timed_out = False
        proc = subprocess.Popen(argv, stdin=in_f if in_f is not None else subprocess.DEVNULL, stdout=out_f,
                                stderr=err_f, cwd=cwd, env=env, start_new_session=True, close_fds=True,
                                pass_fds=pass_fds, **kwargs)
        try:
            returncode = proc.wait(timeout=wall + START_GRACE)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            returncode = proc.wait()
        finally:
            _kill_group(proc.pid)  # stragglers of the unsafe mode's process group
        duration = time.perf_counter() - start
        stdout, stderr = _tail(out_f), _tail(err_f)
        verdict_f.seek(0)
        raw = verdict_f.read(1 << 20)
    finally:
        for f in files + ([in_f] if in_f is not None else []):
            f.close()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    details: dict[str, Any] = {}
    if raw:
        try:
            details = json.loads(raw.decode("utf-8", "replace"))
        except json.JSONDecodeError:
            details = {}
        if not isinstance(details, dict):
            details = {}
    if details:
        details["isolation"] = "bwrap" if isolation == "bwrap" else "none"
    if timed_out:
        status, passed = "timeout", False
    elif not details:
        status, passed = "crashed", False
    else:
        passed = details.get("passed") is True
        err = str(details.get("error") or "")
        status = ("passed" if passed else "timeout" if details.get("error_code") == -3
                  else "crashed" if err.startswith("crashed") else "failed")
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
