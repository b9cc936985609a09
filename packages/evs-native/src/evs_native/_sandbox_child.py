"""The inside of :mod:`evs_native.sandbox`: a checker process and the candidate it forks.

Run inside the sandbox as ``main([JOB_FD, PROGRAM_FD, VERDICT_FD])`` (evs passes this module's
compiled code to ``python -I -B -c``; under bubblewrap the process is PID 1 of a fresh PID
namespace). Standard library only.

Two processes share the sandbox and never trust each other's memory:

* the **checker** (this process) makes itself non-dumpable (so a process of the same uid can
  neither read its memory nor open its files through ``/proc``), forks the candidate, then
  reads the job (tests and expected answers) from ``JOB_FD``, which the candidate closed
  before any of its code ran. It drives the tests, compares the answers with plain Python
  values and writes the verdict to ``VERDICT_FD``, which the candidate never holds;
* the **candidate** closes ``JOB_FD`` and ``VERDICT_FD``, reads only its program from
  ``PROGRAM_FD``, applies the resource limits, runs the program and then answers the
  checker's calls over a pair of pipes: arguments in, return values out, both serialised as
  plain data (numbers, strings, bytes, lists, tuples, dicts, sets, None). An object whose
  ``__eq__`` lies, or a replaced builtin, stays in the candidate's process; what reaches the
  checker is data compared by the checker's own builtins.

Modes: ``check`` (HumanEval: the checker runs the problem's prompt, binds the entry point's name
to a proxy of the candidate function, which lives in the other process, runs the tests and
calls ``check(candidate)``); ``call`` and
``stdio`` (LiveCodeBench functional and standard-input tests, LiveCodeBench's
``testing_util`` semantics); ``script`` (run a program to its end: the pass there is the
program's own word, for containment tests and trusted code only).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import select
import signal
import struct
import sys
import time

MAX_MESSAGE = 64 * 1024 * 1024

# The imports LiveCodeBench prepends to every solution (its ``import_string``).
IMPORT_STRING = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\n"
    "from random import *\nfrom statistics import *\nfrom itertools import *\nfrom functools import *\n"
    "from operator import *\nfrom io import *\nfrom sys import *\nfrom json import *\n"
    "from builtins import *\nfrom typing import *\nimport string\nimport re\nimport datetime\n"
    "import collections\nimport heapq\nimport bisect\nimport copy\nimport math\nimport random\n"
    "import statistics\nimport itertools\nimport functools\nimport operator\nimport io\nimport sys\n"
    "import json\nsys.setrecursionlimit(50000)\n"
)


class Timeout(Exception):
    pass


class CandidateGone(Exception):
    pass


class ProtocolError(Exception):
    pass


# -- plain-data codec ----------------------------------------------------------------------------
def encode(v, depth: int = 0):
    """A JSON-able form of a plain value; lenient (runs in the candidate: its word is only data)."""
    if depth > 500:
        raise ValueError("value nested too deeply")
    if v is None or v is True or v is False:
        return v
    if isinstance(v, int):
        return int.__int__(v) if type(v) is not int else v
    if isinstance(v, float):
        f = float.__float__(v)
        if f != f or f in (float("inf"), float("-inf")):
            return {"F": repr(f)}
        return f
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, (bytes, bytearray)):
        return {"B": bytes(v).hex()}
    if isinstance(v, complex):
        return {"C": [encode(v.real), encode(v.imag)]}
    if isinstance(v, list):
        return [encode(x, depth + 1) for x in list.__iter__(v)]
    if isinstance(v, tuple):
        return {"T": [encode(x, depth + 1) for x in tuple.__iter__(v)]}
    if isinstance(v, dict):
        return {"D": [[encode(k, depth + 1), encode(x, depth + 1)] for k, x in dict.items(v)]}
    if isinstance(v, frozenset):
        return {"Z": [encode(x, depth + 1) for x in v]}
    if isinstance(v, set):
        return {"S": [encode(x, depth + 1) for x in v]}
    tolist = getattr(v, "tolist", None)  # numpy scalars and arrays
    if callable(tolist) and type(v).__module__.startswith("numpy"):
        return encode(tolist(), depth + 1)
    raise TypeError(f"a value of type {type(v).__module__}.{type(v).__qualname__} is not plain data")


def decode(v, depth: int = 0):
    """The plain value of an encoded form; strict (runs in the checker)."""
    if depth > 600:
        raise ProtocolError("value nested too deeply")
    t = type(v)
    if v is None or t is bool or t is int or t is float or t is str:
        return v
    if t is list:
        return [decode(x, depth + 1) for x in v]
    if t is dict and len(v) == 1:
        (tag, x), = v.items()
        if tag == "T" and type(x) is list:
            return tuple(decode(y, depth + 1) for y in x)
        if tag == "D" and type(x) is list:
            out = {}
            for pair in x:
                if type(pair) is not list or len(pair) != 2:
                    raise ProtocolError("bad dict item")
                out[decode(pair[0], depth + 1)] = decode(pair[1], depth + 1)
            return out
        if tag in ("S", "Z") and type(x) is list:
            items = [decode(y, depth + 1) for y in x]
            return set(items) if tag == "S" else frozenset(items)
        if tag == "B" and type(x) is str:
            return bytes.fromhex(x)
        if tag == "C" and type(x) is list and len(x) == 2:
            return complex(decode(x[0], depth + 1), decode(x[1], depth + 1))
        if tag == "F" and x in ("nan", "inf", "-inf"):
            return float(x)
    raise ProtocolError(f"not plain data: {str(v)[:80]}")


# -- framing: length-prefixed JSON over a pair of pipes -------------------------------------------
class Channel:
    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd

    def close(self) -> None:
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass


def send(ch: Channel, obj) -> None:
    data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    data = struct.pack("!I", len(data)) + data
    try:
        while data:
            data = data[os.write(ch.wfd, data):]
    except BrokenPipeError:
        raise CandidateGone("the program ended") from None


def _recv_exact(ch: Channel, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([ch.rfd], [], [], left)[0]:
                raise Timeout("time limit exceeded")
        try:
            chunk = os.read(ch.rfd, min(n - got, 1 << 20))
        except OSError as exc:
            raise CandidateGone(str(exc)) from None
        if not chunk:
            raise CandidateGone("the program ended")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(ch: Channel, deadline: float | None = None):
    (n,) = struct.unpack("!I", _recv_exact(ch, 4, deadline))
    if n > MAX_MESSAGE:
        raise ProtocolError(f"message of {n} bytes is over the limit")
    try:
        return json.loads(_recv_exact(ch, n, deadline).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"unreadable message: {exc}") from None


def _truncate(s, n: int = 300) -> str:
    s = s if isinstance(s, str) else repr(s)
    return s if len(s) <= n else s[: n // 2] + "...(truncated)..." + s[-n // 2:]


# -- the candidate side --------------------------------------------------------------------------
def _set_limits(limits: dict) -> None:
    import resource

    def lim(which, soft, hard=None):
        if soft is None or not hasattr(resource, which):
            return
        try:
            resource.setrlimit(getattr(resource, which), (int(soft), int(hard if hard is not None else soft)))
        except (ValueError, OSError):
            pass

    cpu = limits.get("cpu_seconds")
    lim("RLIMIT_CPU", cpu, cpu + 1 if cpu is not None else None)
    mem = limits.get("memory_mb")
    lim("RLIMIT_AS", mem * 1024 * 1024 if mem else None)
    fsize = limits.get("file_size_mb")
    lim("RLIMIT_FSIZE", fsize * 1024 * 1024 if fsize is not None else None)
    lim("RLIMIT_CORE", 0)
    lim("RLIMIT_NPROC", limits.get("max_processes"))  # counts the sandbox's processes of our uid


BLOCKED_EVENTS = {
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
    "os.kill", "os.killpg", "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
    "ctypes.dlopen", "resource.setrlimit", "resource.prlimit", "os.setuid", "os.setgid", "os.chroot",
    "pty.spawn", "webbrowser.open",
}
PATH_EVENTS = {
    "os.mkdir": (0,), "os.rename": (0, 1), "os.remove": (0,), "os.rmdir": (0,), "os.symlink": (1,),
    "os.link": (1,), "os.chmod": (0,), "os.chown": (0,), "os.truncate": (0,), "os.utime": (0,),
    "shutil.rmtree": (0,), "os.chflags": (0,), "os.lchown": (0,), "os.mkfifo": (0,), "os.mknod": (0,),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _install_guard(workdir: str) -> None:
    """Best-effort audit hook, used only without namespaces (``unsafe-none``): it catches the
    accidents of ordinary code and is no wall (C code and ctypes-free tricks get past it)."""
    realpath, join, fspath = os.path.realpath, os.path.join, os.fspath
    root = realpath(workdir)
    allowed = (root + os.sep,)
    devices = {"/dev/null", "/dev/stdout", "/dev/stderr"}

    def inside(path) -> bool:
        if isinstance(path, int) or path is None:
            return True
        try:
            p = fspath(path)
            if isinstance(p, bytes):
                p = p.decode("utf-8", "surrogateescape")
        except TypeError:
            return False
        full = realpath(join(root, p))
        return full == root or full.startswith(allowed) or full in devices

    def hook(event, args):
        if event in BLOCKED_EVENTS:
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if writing and not inside(path):
                raise PermissionError(f"sandbox: writing outside the working directory is not allowed: {path!r}")
            return
        positions = PATH_EVENTS.get(event)
        if positions:
            for i in positions:
                if i < len(args) and not inside(args[i]):
                    raise PermissionError(f"sandbox: {event} outside the working directory is not allowed")

    sys.addaudithook(hook)


def clean_if_name(code: str) -> str:
    """Unwrap a trailing ``if __name__ == '__main__':`` block."""
    import ast

    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    except Exception:  # noqa: BLE001
        pass
    return code


def make_function(code: str) -> str:
    """Wrap a script's statements (imports stay at the top) into ``wrapped_function()``."""
    import ast

    try:
        imports, others = [], []
        for stmt in ast.parse(code).body:
            (imports if isinstance(stmt, (ast.Import, ast.ImportFrom)) else others).append(stmt)
        fn = ast.FunctionDef(name="wrapped_function",
                             args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
                             body=others or [ast.Pass()], decorator_list=[], lineno=-1)
        return IMPORT_STRING + "\n" + ast.unparse(imports) + "\n" + ast.unparse(fn)
    except Exception:  # noqa: BLE001
        return code


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_truncate(str(exc), 500)}"


def _load(job: dict):
    """Run the candidate's program; return the callable the checker will call (or None)."""
    mode, program = job["mode"], job["program"]
    if mode == "script":
        exec(compile(program, "<program>", "exec"), {"__name__": "__main__", "__builtins__": builtins})
        return None
    if mode == "check":
        ns = {"__name__": "__main__", "__builtins__": builtins}
        exec(compile(program, "<program>", "exec"), ns)
        fn = ns.get(job["entry_point"])
        if not callable(fn):
            raise NameError(f"the program defines no function '{job['entry_point']}'")
        return fn
    if mode == "asserts":
        ns = {"__name__": "__main__", "__builtins__": builtins}
        exec(compile(program, "<program>", "exec"), ns)
        return ns
    if mode == "unittest":
        return run_unittest(program)
    if mode == "call":
        code = IMPORT_STRING + "\n\n" + program
        ns = {"__name__": "tmp_sol", "__builtins__": builtins}
        exec(compile(code, "<solution>", "exec"), ns)
        target = ns["Solution"]() if "class Solution" in code else None
        fn = getattr(target, job["fn_name"], None) if target is not None else ns.get(job["fn_name"])
        if fn is None:
            raise NameError(f"no function '{job['fn_name']}'")
        return fn
    if mode == "stdio":
        ns = {"__name__": "tmp_sol", "__builtins__": builtins}
        exec(compile(make_function(clean_if_name(program)), "<solution>", "exec"), ns)
        return ns["wrapped_function"]
    raise ValueError(f"unknown mode {mode}")


def run_unittest(program: str) -> dict:
    """BigCodeBench: run the program (solution + its ``TestCases`` class) as module ``__test__`` in a
    fresh working directory, as BigCodeBench's ``unsafe_execute`` does (TZ=UTC, one thread for
    the numeric libraries, ``exit``/``quit`` removed, open figures closed, output swallowed), then
    run every test of ``TestCases``; the outcome lists the failures and errors by test name."""
    import contextlib
    import tempfile
    import traceback
    import types
    import unittest

    os.environ["TZ"] = "UTC"
    if hasattr(time, "tzset"):
        time.tzset()
    for k, v in (("OMP_NUM_THREADS", "1"), ("TF_CPP_MIN_LOG_LEVEL", "3"), ("TF_ENABLE_ONEDNN_OPTS", "0")):
        os.environ[k] = v
    os.chdir(tempfile.mkdtemp(prefix="task-"))
    if "matplotlib" in program:  # BigCodeBench closes pyplot's figures first (no display here: Agg)
        try:
            import matplotlib.pyplot as plt

            plt.close("all")
        except Exception:  # noqa: BLE001 - the program's own import will say what is wrong
            pass
    builtins.exit = None
    builtins.quit = None
    module = types.ModuleType("__test__")
    module.__dict__.update({"__builtins__": builtins, "__file__": "__test__.py", "__package__": None,
                            "__doc__": None, "sys": sys, "os": os, "environ": os.environ})
    issues: dict = {}
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            exec(compile(program, "__test__.py", "exec"), module.__dict__)
            sys.modules["__test__"] = module
            suite = unittest.TestLoader().loadTestsFromTestCase(module.__dict__["TestCases"])
            result = unittest.TestResult()
            suite.run(result)
        for test, trace in result.failures + result.errors:
            issues[str(test.id()).split(".")[-1]] = _truncate(str(trace), 1000)
        return {"tests": int(result.testsRun), "issues": issues}
    except BaseException as exc:  # noqa: BLE001 - as BigCodeBench: any error fails the task
        return {"tests": 0, "issues": {"ALL": _truncate("".join(traceback.format_exception_only(exc)), 1000)}}


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass


def _say(sock, obj) -> None:
    _flush()
    send(sock, obj)


def _kinds(ns: dict, names) -> dict:
    """What the program's globals among ``names`` are: a function (called through the channel) or a
    module (imported again by the checker under its own name)."""
    import functools
    import types

    out = {}
    for name in names or []:
        v = ns.get(name)
        if isinstance(v, type):
            out[name] = "class"
        elif isinstance(v, (types.FunctionType, types.BuiltinFunctionType, functools.partial)):
            out[name] = "function"
        elif isinstance(v, types.ModuleType):
            out[name] = "module:" + str(getattr(v, "__name__", name))
    return out


def candidate_main(sock, prog_fd: int, guard_workdir: str | None) -> None:
    with os.fdopen(prog_fd, encoding="utf-8") as f:
        job = json.load(f)
    if job["mode"] == "command":  # the checker runs the commands itself; nothing to do here
        os._exit(0)
    _set_limits(job["limits"])
    if guard_workdir:
        os.chdir(guard_workdir)
        sys.path[:0] = [guard_workdir]
        _install_guard(guard_workdir)
    mode = job["mode"]
    try:
        fn = _load(job)
    except SystemExit as exc:
        _say(sock, {"error": f"SystemExit: {exc.code!r}"})
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001
        _say(sock, {"error": _error_text(exc)})
        os._exit(0)
    if mode == "script":
        _say(sock, {"done": True})
        os._exit(0)
    if mode == "unittest":
        try:
            _say(sock, {"unittest": fn})
        except (TypeError, ValueError):
            _say(sock, {"error": "unreadable test outcome"})
        os._exit(0)
    if mode == "asserts":
        ns, fn = fn, None
        _say(sock, {"ready": True, "names": _kinds(ns, job.get("names"))})
    else:
        _say(sock, {"ready": True})
    real_stdin, real_stdout = sys.stdin, sys.stdout
    while True:
        try:
            msg = recv(sock)
        except Exception:  # noqa: BLE001 - the checker went away
            os._exit(0)
        reply: dict
        if mode == "stdio":
            sys.stdin = io.TextIOWrapper(io.BytesIO(msg["stdin"].encode("utf-8")), encoding="utf-8")
            captured = io.StringIO()
            sys.stdout = captured
            try:
                fn()
                reply = {"out": captured.getvalue()}
            except SystemExit:
                reply = {"out": captured.getvalue()}
            except BaseException as exc:  # noqa: BLE001
                reply = {"raise": [type(exc).__name__, _truncate(str(exc), 500)]}
            finally:
                sys.stdin, sys.stdout = real_stdin, real_stdout
        else:
            try:
                if mode == "asserts" and isinstance(msg.get("exec"), str):  # tests run in the program's process
                    exec(compile(msg["exec"], "<tests>", "exec"), ns)
                    _say(sock, {"ok": None})
                    continue
                args = [decode(a) for a in msg["args"]]
                kwargs = {str(k): decode(v) for k, v in msg.get("kwargs") or []}
                target = ns.get(msg.get("fn")) if mode == "asserts" else fn
                if not callable(target):
                    raise NameError(f"name {msg.get('fn')!r} is not defined")
                result = target(*args, **kwargs)
                reply = {"ok": encode(result)}
            except BaseException as exc:  # noqa: BLE001
                reply = {"raise": [type(exc).__name__, _truncate(str(exc), 500)]}
        try:
            _say(sock, reply)
        except (TypeError, ValueError) as exc:
            _say(sock, {"raise": ["TypeError", str(exc)]})


# -- the checker side ----------------------------------------------------------------------------
class Checker:
    def __init__(self, sock: Channel, pid: int) -> None:
        self.sock, self.pid, self.status = sock, pid, None
        self.info: dict = {}

    def ended(self) -> str:
        """How the candidate ended (it is dead or killed after this)."""
        self.kill()
        if self.status is None:
            try:
                _, st = os.waitpid(self.pid, 0)
                self.status = st
            except ChildProcessError:
                return "ended"
        st = self.status
        if os.WIFSIGNALED(st):
            try:
                name = signal.Signals(os.WTERMSIG(st)).name
            except ValueError:
                name = f"signal {os.WTERMSIG(st)}"
            return f"killed by {name}"
        return f"exit code {os.WEXITSTATUS(st)}" if os.WIFEXITED(st) else "ended"

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def ready(self, deadline: float) -> dict | None:
        """None when the program loaded, else the failure verdict."""
        try:
            msg = recv(self.sock, deadline)
        except Timeout:
            return {"passed": False, "results": [-3], "error_code": -3, "error": "Time Limit Exceeded"}
        except (CandidateGone, ProtocolError):
            return {"passed": False, "results": [-1], "error_code": -1,
                    "error": f"crashed: the program {self.ended()} before it was loaded"}
        if msg == {"ready": True}:
            return None
        if isinstance(msg, dict) and msg.get("ready") is True and set(msg) == {"ready", "names"}:
            names = msg["names"]
            if not isinstance(names, dict) or not all(
                    type(k) is str and type(v) is str for k, v in names.items()):
                return {"passed": False, "results": [-1], "error_code": -1, "error": "crashed: bad ready message"}
            self.info = names
            return None
        err = msg.get("error") if isinstance(msg, dict) else None
        return {"passed": False, "results": [-1], "error_code": -1,
                "error": f"Compilation error: {_truncate(str(err), 500)}"}

    def call(self, payload: dict, deadline: float):
        send(self.sock, payload)
        try:
            return recv(self.sock, deadline)
        except CandidateGone:
            raise CandidateGone(f"the program {self.ended()}") from None


def _raise_from(reply: dict):
    name, message = reply["raise"] if isinstance(reply.get("raise"), list) and len(reply["raise"]) == 2 else (
        "Error", "?")
    cls = getattr(builtins, str(name), None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls is not StopIteration:
        try:
            exc = cls(str(message))
        except Exception:  # noqa: BLE001
            exc = RuntimeError(f"{name}: {message}")
    else:
        exc = RuntimeError(f"{name}: {message}")
    raise exc


def _value(reply):
    if not isinstance(reply, dict):
        raise ProtocolError("bad reply")
    if "ok" in reply:
        return decode(reply["ok"])
    if "raise" in reply:
        _raise_from(reply)
    raise ProtocolError("bad reply")


def check_script(ch: Checker, job: dict) -> dict:
    deadline = time.monotonic() + job["timeout"]
    try:
        msg = recv(ch.sock, deadline)
    except Timeout:
        return {"passed": False, "error": "timed out", "error_code": -3}
    except (CandidateGone, ProtocolError):
        return {"passed": False, "error": f"crashed: the program {ch.ended()}"}
    if msg == {"done": True}:
        return {"passed": True}
    err = msg.get("error") if isinstance(msg, dict) else None
    return {"passed": False, "error": f"failed: {_truncate(str(err), 500)}"}


def check_function(ch: Checker, job: dict) -> dict:
    """HumanEval: run the problem's own ``check(candidate)`` here, the candidate over there."""
    deadline = time.monotonic() + job["timeout"]
    failed = ch.ready(deadline)
    if failed:
        if failed["error_code"] == -3:
            return {"passed": False, "error": "timed out", "error_code": -3}
        return {"passed": False, "error": "failed: " + failed["error"].replace("Compilation error: ", "", 1)}

    def candidate(*args):
        try:
            payload = {"args": [encode(a) for a in args]}
        except (TypeError, ValueError) as exc:
            raise TypeError(f"sandbox: a test argument is not plain data: {exc}") from None
        return _value(ch.call(payload, deadline))

    ns = {"__name__": "__check__", "__builtins__": builtins}
    try:
        # The problem's prompt (its helpers), the entry point's name bound to the candidate (tests
        # may call it by name), then the tests and their check(candidate).
        exec(compile(job["prompt"], "<prompt>", "exec"), ns)
        ns[job["entry_point"]] = candidate
        exec(compile(job["test"], "<tests>", "exec"), ns)
        ns["check"](candidate)
    except Timeout:
        return {"passed": False, "error": "timed out", "error_code": -3}
    except CandidateGone as exc:
        return {"passed": False, "error": f"crashed: {exc}"}
    except ProtocolError as exc:
        return {"passed": False, "error": f"failed: {exc}"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit too, as the reference does
        return {"passed": False, "error": f"failed: {_error_text(exc)}"}
    return {"passed": True}


def check_asserts(ch: Checker, job: dict) -> dict:
    """MBPP: the tests are statements (``assert f(x) == y``) that name the program's functions.

    The checker runs the problem's setup (imports, helpers), binds each function name the tests
    use and the program defines to a proxy of it (the function stays in the candidate's process),
    imports again here the modules the program imported under a name the tests use (``math`` in
    ``assert math.isclose(f(2), 0.5)``), then runs the tests; they pass when none raises.
    """
    import importlib

    deadline = time.monotonic() + job["timeout"]
    failed = ch.ready(deadline)
    if failed:
        if failed["error_code"] == -3:
            return {"passed": False, "error": "timed out", "error_code": -3}
        return {"passed": False, "error": "failed: " + failed["error"].replace("Compilation error: ", "", 1)}

    def proxy(name):
        def call(*args, **kwargs):
            try:
                payload = {"fn": name, "args": [encode(a) for a in args],
                           "kwargs": [[k, encode(v)] for k, v in kwargs.items()]}
            except (TypeError, ValueError) as exc:
                raise TypeError(f"sandbox: a test argument is not plain data: {exc}") from None
            return _value(ch.call(payload, deadline))

        call.__name__ = name
        return call

    if job.get("in_process"):
        # The tests build objects of a class the problem's reference solution defines (MBPP's
        # Pair): such objects cannot cross as plain data, so evs (never the program) marks these
        # problems to run their tests in the program's process, as the reference runs all of
        # them; the verdict says so (the program's word, contained by the sandbox).
        try:
            _value(ch.call({"exec": (job["prompt"] or "") + "\n" + job["test"]}, deadline))
        except Timeout:
            return {"passed": False, "error": "timed out", "error_code": -3, "in_process": True}
        except CandidateGone as exc:
            return {"passed": False, "error": f"crashed: {exc}", "in_process": True}
        except BaseException as exc:  # noqa: BLE001
            return {"passed": False, "error": f"failed: {_error_text(exc)}", "in_process": True}
        return {"passed": True, "in_process": True}
    ns = {"__name__": "__check__", "__builtins__": builtins}
    try:
        exec(compile(job["prompt"] or "", "<setup>", "exec"), ns)
        for name, kind in ch.info.items():
            if kind == "function":
                ns[name] = proxy(name)
            elif kind.startswith("module:") and name not in ns:
                try:
                    ns[name] = importlib.import_module(kind[len("module:"):])
                except Exception:  # noqa: BLE001 - a module only the program has: the tests fail on it
                    pass
        exec(compile(job["test"], "<tests>", "exec"), ns)
    except Timeout:
        return {"passed": False, "error": "timed out", "error_code": -3}
    except CandidateGone as exc:
        return {"passed": False, "error": f"crashed: {exc}"}
    except ProtocolError as exc:
        return {"passed": False, "error": f"failed: {exc}"}
    except BaseException as exc:  # noqa: BLE001
        return {"passed": False, "error": f"failed: {_error_text(exc)}"}
    return {"passed": True}


def _read_tail(f, n: int = 2000) -> str:
    try:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - n))
        return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def check_unittest(ch: Checker, job: dict) -> dict:
    """BigCodeBench: the outcome of the task's unittest run. The tests run in the program's own
    process (they patch the modules the solution uses), as in BigCodeBench's harness, so this
    verdict is the program's word: the sandbox contains the program, it does not vouch for it."""
    deadline = time.monotonic() + job["timeout"]
    try:
        msg = recv(ch.sock, deadline)
    except Timeout:
        return {"passed": False, "error": "timed out", "error_code": -3}
    except (CandidateGone, ProtocolError):
        return {"passed": False, "error": f"crashed: the program {ch.ended()}"}
    out = msg.get("unittest") if isinstance(msg, dict) else None
    if not isinstance(out, dict) or not isinstance(out.get("issues"), dict) or type(out.get("tests")) is not int:
        err = msg.get("error") if isinstance(msg, dict) else None
        return {"passed": False, "error": f"failed: {_truncate(str(err or 'no test outcome'), 500)}"}
    issues = {str(k): _truncate(str(v), 1000) for k, v in list(out["issues"].items())[:50]}
    if issues:
        first = next(iter(issues.items()))
        tail = first[1].strip().splitlines()[-1:] or [""]
        return {"passed": False, "tests": out["tests"], "issues": issues,
                "error": f"failed: {len(issues)} of {out['tests']} tests: {first[0]}: {_truncate(tail[0], 300)}"}
    return {"passed": True, "tests": out["tests"]}


def check_command(ch: Checker, job: dict) -> dict:
    """MultiPL-E: write the program's files, run its steps (compile, run) one after the other as
    processes of this checker, each under the program's limits and in its own process group; the
    program passes when every step exits with status 0, prints none of its ``fail_markers`` and, for a
    step with ``stderr_fails``, writes nothing to stderr (the runners whose tests exit 0 on failure).
    The verdict is the exit status this process observes, never a word of the program."""
    import subprocess
    import tempfile

    ch.kill()
    try:
        os.waitpid(ch.pid, 0)
    except ChildProcessError:
        pass
    spec = job["command"]
    limits = spec["limits"]
    workdir = tempfile.mkdtemp(prefix="prog-", dir=spec.get("dir") or None)
    for rel, text in spec["files"].items():
        path = os.path.join(workdir, rel)
        if os.path.dirname(rel):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
           **(spec.get("env") or {})}
    for step in spec["steps"]:
        out = tempfile.TemporaryFile(dir=workdir)
        err = tempfile.TemporaryFile(dir=workdir)
        step_limits = {**limits, **(step.get("limits") or {})}
        start = time.monotonic()
        try:
            proc = subprocess.Popen(step["argv"], cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, start_new_session=True, close_fds=True,
                                    preexec_fn=lambda lim=step_limits: _set_limits(lim))
        except OSError as exc:
            return {"passed": False, "error": f"failed: {step['name']}: cannot start {step['argv'][0]}: {exc}"}
        try:
            rc = proc.wait(timeout=float(step["timeout"]))
        except subprocess.TimeoutExpired:
            rc = None
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what the step left behind
        except OSError:
            pass
        if rc is None:
            proc.wait()
            return {"passed": False, "error": f"timed out ({step['name']})", "error_code": -3, "step": step["name"],
                    "output": _read_tail(out) + _read_tail(err)}
        stderr = _read_tail(err, 32 * 1024)
        text = _read_tail(out, 32 * 1024) + stderr
        seconds = round(time.monotonic() - start, 3)
        if rc != 0:
            why = f"killed by {signal.Signals(-rc).name}" if rc < 0 and -rc in signal.valid_signals() else f"exit code {rc}"
            lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
            telling = [ln for ln in lines if any(w in ln.lower() for w in ("error", "assert", "fail", "panic"))]
            tail = (telling or lines)[-1:] or [""]
            return {"passed": False, "error": f"failed: {step['name']}: {why} {_truncate(tail[0], 300)}".strip(),
                    "step": step["name"], "returncode": rc, "output": text[-2000:], "step_seconds": seconds}
        for marker in step.get("fail_markers") or []:
            if marker in text:
                return {"passed": False, "error": f"failed: {step['name']}: output contains {marker!r}",
                        "step": step["name"], "returncode": rc, "output": text[-2000:]}
        if step.get("stderr_fails") and stderr.strip():
            line = stderr.strip().splitlines()[0]
            return {"passed": False, "error": f"failed: {step['name']}: wrote to stderr: {_truncate(line, 300)}",
                    "step": step["name"], "returncode": rc, "output": text[-2000:]}
    return {"passed": True}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str):
    from decimal import Decimal, InvalidOperation

    try:
        return [Decimal(x) for x in line.split()]
    except (InvalidOperation, ValueError):
        return None


def outputs_match(pred: str, gold: str) -> tuple[bool, str]:
    p, g = _lines(pred), _lines(gold)
    if len(p) != len(g):
        return False, "Wrong answer: mismatched output length"
    for i, (a, b) in enumerate(zip(p, g, strict=True)):
        if a == b:
            continue
        da, db = _decimals(a), _decimals(b)
        if da is None or db is None or da != db:
            return False, f"Wrong answer at line {i}: {_truncate(a)} != {_truncate(b)}"
    return True, ""


def check_tests(ch: Checker, job: dict) -> dict:
    """LiveCodeBench: every test in order, stop at the first failure."""
    mode, tests, per_test = job["mode"], job["tests"], job["test_timeout"]
    failed = ch.ready(time.monotonic() + per_test)
    if failed:
        return failed
    results: list = []
    for inp, out in zip(tests["inputs"], tests["outputs"], strict=False):
        deadline = time.monotonic() + per_test
        try:
            if mode == "call":
                args = [json.loads(line) for line in inp.split("\n")]
                expected = json.loads(out)
                reply = ch.call({"args": [encode(a) for a in args]}, deadline)
                pred = _value(reply)
                if isinstance(pred, tuple):
                    pred = list(pred)
                if pred != expected:
                    results.append(-2)
                    return {"passed": False, "results": results, "error_code": -2, "error": "Wrong Answer",
                            "output": _truncate(pred), "expected": _truncate(expected)}
            else:
                if isinstance(inp, list):
                    inp = "\n".join(inp)
                reply = ch.call({"stdin": inp}, deadline)
                if isinstance(reply, dict) and "raise" in reply:
                    _raise_from(reply)
                got = reply.get("out") if isinstance(reply, dict) else None
                if not isinstance(got, str):
                    raise ProtocolError("bad reply")
                ok, why = outputs_match(got, out)
                if not ok:
                    results.append(-2)
                    return {"passed": False, "results": results, "error_code": -2, "error": why,
                            "output": _truncate(got), "expected": _truncate(out)}
        except Timeout:
            results.append(-3)
            return {"passed": False, "results": results, "error_code": -3, "error": "Time Limit Exceeded"}
        except (CandidateGone, ProtocolError) as exc:
            results.append(-4)
            return {"passed": False, "results": results, "error_code": -4, "error": f"Runtime Error: {exc}"}
        except Exception as exc:  # noqa: BLE001
            results.append(-4)
            return {"passed": False, "results": results, "error_code": -4,
                    "error": f"Runtime Error: {type(exc).__name__}({_truncate(str(exc))!r})"}
        results.append(True)
    return {"passed": True, "results": results}


def _non_dumpable() -> bool:
    """prctl(PR_SET_DUMPABLE, 0): no process of our uid may ptrace us or open our /proc files."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) == 0
    except Exception:  # noqa: BLE001
        return False


def main(argv: list[str]) -> None:
    job_fd, prog_fd, verdict_fd = (int(x) for x in argv[:3])
    guard_workdir = argv[3] if len(argv) > 3 else None  # only without namespaces
    protected = _non_dumpable()
    keep = sorted({0, 1, 2, job_fd, prog_fd, verdict_fd})
    start = 3
    for fd in keep[3:] + [1 << 16]:
        os.closerange(start, min(fd, 1 << 16))
        start = fd + 1
    to_cand_r, to_cand_w = os.pipe()
    to_check_r, to_check_w = os.pipe()
    mine, theirs = Channel(to_check_r, to_cand_w), Channel(to_cand_r, to_check_w)
    pid = os.fork()
    if pid == 0:  # the candidate: nothing of the checker's job ever reaches this process
        try:
            os.close(job_fd)
            os.close(verdict_fd)
            mine.close()
            candidate_main(theirs, prog_fd, guard_workdir)
        finally:
            os._exit(0)
    os.close(prog_fd)
    theirs.close()
    with os.fdopen(job_fd, encoding="utf-8") as f:
        job = json.load(f)
    t0 = time.perf_counter()
    ch = Checker(mine, pid)
    mode = job["mode"]
    try:
        if mode == "script":
            verdict = check_script(ch, job)
        elif mode == "check":
            verdict = check_function(ch, job)
        elif mode == "asserts":
            verdict = check_asserts(ch, job)
        elif mode == "command":
            verdict = check_command(ch, job)
        elif mode == "unittest":
            verdict = check_unittest(ch, job)
        elif mode in ("call", "stdio"):
            verdict = check_tests(ch, job)
        else:
            verdict = {"passed": False, "error": f"unknown mode {mode}"}
    except BaseException as exc:  # noqa: BLE001 - the verdict is always written
        verdict = {"passed": False, "error": f"checker error: {_error_text(exc)}"}
    ch.kill()
    verdict["seconds"] = time.perf_counter() - t0
    verdict["checker_protected"] = protected
    data = json.dumps(verdict, default=repr).encode("utf-8")
    while data:
        data = data[os.write(verdict_fd, data):]
    os.close(verdict_fd)
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
