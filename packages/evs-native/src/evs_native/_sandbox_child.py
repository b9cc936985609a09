"""The child side of :mod:`evs_native.sandbox`: run untrusted code under limits.

Run as ``python -I _sandbox_child.py JOB.json``. Standard library only. It reads the job,
moves into a new network namespace when the kernel allows it, sets resource limits, changes
into the job's working directory, installs an audit hook that refuses process creation,
network connections and writes outside the working directory, then runs the program in one
of these modes:

``script``  run the program as ``__main__`` (HumanEval: prompt + completion + tests + check);
``call``    LiveCodeBench functional tests: call ``fn_name`` (a method of ``Solution`` when
            the code defines that class) on each JSON-encoded input, compare with ``==``;
``stdio``   LiveCodeBench standard-input tests: run the program on each input, compare the
            output line by line (exact, else as decimal numbers).

The verdict is printed as one line ``<nonce><json>`` on the original standard output.
Nothing here is a security boundary against a determined attacker; it contains the accidents
and habits of model-written code (forks, sleeps, stray files, sockets, runaway memory).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import signal
import sys
import time

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

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


class TestTimeout(Exception):
    pass


def _enter_network_namespace() -> str:
    """Move into an empty network namespace (only a down loopback); return how, or 'none'."""
    if not sys.platform.startswith("linux"):
        return "none"
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) == 0:
            return "netns"
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
            return "userns+netns"
    except Exception:  # noqa: BLE001 - best effort; the audit hook still refuses sockets
        pass
    return "none"


def _set_limits(limits: dict) -> None:
    import resource

    def lim(which, value):
        if value is None or not hasattr(resource, which):
            return
        try:
            resource.setrlimit(getattr(resource, which), (int(value), int(value)))
        except (ValueError, OSError):
            pass

    cpu = limits.get("cpu_seconds")
    if cpu is not None and hasattr(resource, "RLIMIT_CPU"):
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 1))
        except (ValueError, OSError):
            pass
    mem = limits.get("memory_mb")
    lim("RLIMIT_AS", mem * 1024 * 1024 if mem else None)
    fsize = limits.get("file_size_mb")
    lim("RLIMIT_FSIZE", fsize * 1024 * 1024 if fsize is not None else None)
    lim("RLIMIT_NPROC", limits.get("max_processes"))
    lim("RLIMIT_CORE", 0)


BLOCKED_EVENTS = {
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
    "os.kill", "os.killpg", "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
    "ctypes.dlopen", "resource.setrlimit", "resource.prlimit", "os.setuid", "os.setgid", "os.chroot",
    "pty.spawn", "webbrowser.open",
}
# Events whose path arguments (positions) must lie inside the working directory.
PATH_EVENTS = {
    "os.mkdir": (0,), "os.rename": (0, 1), "os.remove": (0,), "os.rmdir": (0,), "os.symlink": (1,),
    "os.link": (1,), "os.chmod": (0,), "os.chown": (0,), "os.truncate": (0,), "os.utime": (0,),
    "shutil.rmtree": (0,), "os.chflags": (0,), "os.lchown": (0,), "os.mkfifo": (0,), "os.mknod": (0,),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _install_guard(workdir: str) -> None:
    realpath = os.path.realpath
    join = os.path.join
    fspath = os.fspath
    root = realpath(workdir)
    allowed = (root + os.sep, )
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


def _alarm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _on_alarm(signum, frame):
    raise TestTimeout("time limit exceeded")


def _truncate(s, n: int = 300) -> str:
    s = s if isinstance(s, str) else repr(s)
    return s if len(s) <= n else s[: n // 2] + "...(truncated)..." + s[-n // 2:]


# -- LiveCodeBench grading (its testing_util semantics) ------------------------------------------
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


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str):
    from decimal import Decimal, InvalidOperation

    try:
        return [Decimal(x) for x in line.split()]
    except (InvalidOperation, ValueError):
        return None


def _outputs_match(pred: str, gold: str) -> tuple[bool, str]:
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


def _compile_module(code: str, timeout: float) -> dict:
    ns: dict = {"__name__": "tmp_sol", "__builtins__": builtins}
    _alarm(timeout)
    try:
        exec(compile(code, "<solution>", "exec"), ns)
    finally:
        _alarm(0)
    return ns


def grade_call(code: str, tests: dict, timeout: float) -> dict:
    code = IMPORT_STRING + "\n\n" + code
    try:
        ns = _compile_module(code, timeout)
        target = ns["Solution"]() if "class Solution" in code else None
        fn_name = tests["fn_name"]
        method = getattr(target, fn_name, None) if target is not None else ns.get(fn_name)
    except BaseException as exc:  # noqa: BLE001
        return {"passed": False, "results": [-1], "error_code": -1, "error": f"Compilation error: {exc!r}"}
    if method is None:
        return {"passed": False, "results": [-1], "error_code": -1, "error": f"no function '{tests['fn_name']}'"}
    results = []
    for inp, out in zip(tests["inputs"], tests["outputs"], strict=False):
        args = [json.loads(line) for line in inp.split("\n")]
        expected = json.loads(out)
        _alarm(timeout)
        try:
            pred = method(*args)
            _alarm(0)
        except TestTimeout:
            results.append(-3)
            return {"passed": False, "results": results, "error_code": -3, "error": "Time Limit Exceeded"}
        except BaseException as exc:  # noqa: BLE001
            _alarm(0)
            results.append(-4)
            return {"passed": False, "results": results, "error_code": -4, "error": f"Runtime Error: {exc!r}"}
        finally:
            _alarm(0)
        if isinstance(pred, tuple):
            pred = list(pred)
        if pred != expected:
            results.append(-2)
            return {"passed": False, "results": results, "error_code": -2, "error": "Wrong Answer",
                    "output": _truncate(pred), "expected": _truncate(expected)}
        results.append(True)
    return {"passed": True, "results": results}


def grade_stdio(code: str, tests: dict, timeout: float) -> dict:
    code = make_function(clean_if_name(code))
    try:
        ns = _compile_module(code, timeout)
        method = ns["wrapped_function"]
    except BaseException as exc:  # noqa: BLE001
        return {"passed": False, "results": [-1], "error_code": -1, "error": f"Compilation error: {exc!r}"}
    results = []
    real_stdin, real_stdout = sys.stdin, sys.stdout
    for inp, out in zip(tests["inputs"], tests["outputs"], strict=False):
        if isinstance(inp, list):
            inp = "\n".join(inp)
        sys.stdin = io.TextIOWrapper(io.BytesIO(inp.encode("utf-8")), encoding="utf-8")
        captured = io.StringIO()
        sys.stdout = captured
        _alarm(timeout)
        error = None
        try:
            method()
        except SystemExit:
            pass
        except TestTimeout:
            error = (-3, "Time Limit Exceeded")
        except BaseException as exc:  # noqa: BLE001
            error = (-4, f"Runtime Error: {exc!r}")
        finally:
            _alarm(0)
            sys.stdin, sys.stdout = real_stdin, real_stdout
        if error:
            results.append(error[0])
            return {"passed": False, "results": results, "error_code": error[0], "error": error[1]}
        ok, why = _outputs_match(captured.getvalue(), out)
        if not ok:
            results.append(-2)
            return {"passed": False, "results": results, "error_code": -2, "error": why,
                    "output": _truncate(captured.getvalue()), "expected": _truncate(out)}
        results.append(True)
    return {"passed": True, "results": results}


def run_script(code: str) -> dict:
    ns = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(code, "<program>", "exec"), ns)
    except TestTimeout:
        return {"passed": False, "error": "timed out"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit too, as the reference does
        return {"passed": False, "error": f"failed: {type(exc).__name__}: {_truncate(str(exc), 500)}"}
    return {"passed": True}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    nonce = job["nonce"]
    out_fd = os.dup(1)
    write, dumps = os.write, json.dumps
    netns = _enter_network_namespace() if not job["limits"].get("network") else "host"
    _set_limits(job["limits"])
    os.chdir(job["workdir"])
    signal.signal(signal.SIGALRM, _on_alarm)
    sys.path[:0] = [job["workdir"]]
    _install_guard(job["workdir"])
    start = time.perf_counter()
    mode = job["mode"]
    if mode == "script":
        verdict = run_script(job["program"])
    elif mode == "call":
        verdict = grade_call(job["program"], job["tests"], job["test_timeout"])
    elif mode == "stdio":
        verdict = grade_stdio(job["program"], job["tests"], job["test_timeout"])
    else:
        verdict = {"passed": False, "error": f"unknown mode {mode}"}
    verdict["netns"] = netns
    verdict["seconds"] = time.perf_counter() - start
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    write(out_fd, ("\n" + nonce + dumps(verdict, default=repr) + "\n").encode())
    os._exit(0)


if __name__ == "__main__":
    main()
