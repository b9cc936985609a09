"""The code sandbox contains forks, sleeps, stray writes, sockets, memory and file bombs."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from evs_native import sandbox

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox limits are Linux rlimits")


def test_a_plain_program_passes_and_its_output_is_kept():
    r = sandbox.run("print('hello')\nassert sum(range(5)) == 10")
    assert r.passed and r.status == "passed"
    assert r.stdout == "hello"


def test_an_exception_or_sys_exit_fails():
    assert sandbox.run("raise ValueError('boom')").error.startswith("failed: ValueError: boom")
    r = sandbox.run("import sys\nsys.exit(0)")  # as the reference harness: SystemExit is not a pass
    assert not r.passed and "SystemExit" in r.error


def test_fork_bomb_is_contained():
    code = "import os\nwhile True:\n    os.fork()\n"
    t = time.perf_counter()
    r = sandbox.run(code, limits=sandbox.Limits(timeout=5))
    assert not r.passed
    assert "os.fork" in r.error
    assert time.perf_counter() - t < 5
    r = sandbox.run("import subprocess\nsubprocess.run(['sleep', '100'])", limits=sandbox.Limits(timeout=5))
    assert not r.passed and "subprocess.Popen" in r.error
    r = sandbox.run("import os\nos.system('echo hi')")
    assert not r.passed and "os.system" in r.error


def test_infinite_sleep_times_out_and_the_group_is_killed():
    t = time.perf_counter()
    r = sandbox.run("import time\ntime.sleep(1000)", limits=sandbox.Limits(timeout=1.5))
    elapsed = time.perf_counter() - t
    assert r.status == "timeout" and not r.passed and r.error == "timed out"
    assert elapsed < 5


def test_busy_loop_is_stopped():
    r = sandbox.run("while True:\n    pass", limits=sandbox.Limits(timeout=1.5))
    assert r.status in ("timeout", "crashed") and not r.passed


def test_writing_outside_the_working_directory_fails_and_leaves_no_file(tmp_path):
    target = tmp_path / "escaped.txt"
    for code in (f"open({str(target)!r}, 'w').write('x')",
                 f"import os\nfd = os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)\nos.write(fd, b'x')",
                 f"import pathlib\npathlib.Path({str(target)!r}).write_text('x')",
                 f"import shutil\nopen('a.txt', 'w').write('x')\nshutil.move('a.txt', {str(target)!r})",
                 "open('../../escaped.txt', 'w').write('x')"):
        r = sandbox.run(code)
        assert not r.passed, code
        assert "outside the working directory" in r.error, (code, r.error)
    assert not target.exists()
    assert not list(tmp_path.iterdir())


def test_writing_inside_the_working_directory_is_allowed():
    r = sandbox.run("import os, tempfile\nopen('out.txt', 'w').write('x' * 10)\nos.mkdir('d')\n"
                    "open('d/y', 'w').write('y')\nos.remove('out.txt')\n"
                    "with tempfile.NamedTemporaryFile() as f:\n    f.write(b'ok')\n")
    assert r.passed, r.error


@pytest.fixture
def tcp_server():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    accepted: list = []
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                accepted.append(conn)
            except OSError:
                continue

    th = threading.Thread(target=loop, daemon=True)
    th.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    th.join(2)
    srv.close()


def test_socket_to_a_local_server_never_connects(tcp_server):
    port, accepted = tcp_server
    # The server is reachable from the test process itself…
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    time.sleep(0.3)
    assert len(accepted) == 1
    code = (f"import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('127.0.0.1', {port}))\n"
            "s.sendall(b'hello')")
    r = sandbox.run(code)
    assert not r.passed and "socket.connect" in r.error
    code = f"import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=2)"
    r = sandbox.run(code)
    assert not r.passed
    time.sleep(0.5)
    assert len(accepted) == 1  # …but never from the sandbox


def test_network_namespace_is_used_when_the_kernel_allows_it():
    r = sandbox.run("pass")
    assert r.details["netns"] in ("netns", "userns+netns", "none")
    if r.details["netns"] != "none":
        # Even without the audit hook's refusal, only a down loopback exists in there.
        r = sandbox.run("import socket\nprint(sorted(n for _, n in socket.if_nameindex()))")
        assert r.passed and r.stdout == "['lo']"


def test_huge_memory_fails():
    r = sandbox.run("x = bytearray(16 * 1024 ** 3)\nprint(len(x))", limits=sandbox.Limits(memory_mb=512))
    assert not r.passed and "MemoryError" in r.error


def test_huge_file_fails_and_is_cut():
    code = "f = open('big.bin', 'wb')\nfor _ in range(64):\n    f.write(b'x' * 1024 * 1024)\nf.close()"
    r = sandbox.run(code, limits=sandbox.Limits(file_size_mb=2))
    assert not r.passed
    assert "File too large" in r.error or r.status == "crashed"


def test_raising_the_limits_is_refused():
    r = sandbox.run("import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))")
    assert not r.passed and "resource.setrlimit" in r.error


def test_the_working_directory_is_temporary_and_removed():
    r = sandbox.run("import os\nprint(os.getcwd())")
    assert r.passed
    assert "evs-sandbox-" in r.stdout
    assert not Path(r.stdout).exists()


def test_functional_and_stdio_tests_follow_livecodebench_semantics():
    tests = {"inputs": ["[1, 2]\n3", "[]\n0"], "outputs": ["[1, 2, 3]", "[0]"], "fn_name": "push"}
    ok = "class Solution:\n    def push(self, xs, x):\n        return tuple(xs + [x])\n"
    assert sandbox.run(ok, mode="call", tests=tests).passed  # tuples compare as lists
    bad = "class Solution:\n    def push(self, xs, x):\n        return xs\n"
    r = sandbox.run(bad, mode="call", tests=tests)
    assert not r.passed and r.details["error_code"] == -2 and r.details["results"] == [-2]
    stdio = {"inputs": ["3\n1 2 3\n", "2\n5 5\n"], "outputs": ["6\n", "10.0\n"]}
    prog = "n = int(input())\nprint(sum(map(int, input().split())))\n"
    r = sandbox.run(prog, mode="stdio", tests=stdio)
    assert r.passed, r.details  # 10 == 10.0 as decimals
    r = sandbox.run("print(1)", mode="stdio", tests=stdio)
    assert not r.passed and r.details["results"] == [-2]
    slow = "import time\ntime.sleep(30)"
    r = sandbox.run(slow, mode="stdio", tests=stdio, limits=sandbox.Limits(test_timeout=1))
    assert not r.passed and r.status == "timeout"


def test_arun_runs_programs_concurrently_with_a_bound(monkeypatch):
    monkeypatch.setenv("EVS_SANDBOX_WORKERS", "2")

    async def main():
        t = time.perf_counter()
        rs = await asyncio.gather(*(sandbox.arun("import time\ntime.sleep(1)") for _ in range(4)))
        return rs, time.perf_counter() - t

    rs, elapsed = asyncio.run(main())
    assert all(r.passed for r in rs)
    assert 1.9 < elapsed < 4.5  # two at a time: two rounds of one second
    assert os.environ["EVS_SANDBOX_WORKERS"] == "2"
