"""Bad input and faults: each gives a clear message or a counted failure, within its timeout."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from evs_core.errors import ConfigError, EvsError
from evs_perf.run import RunError
from evs_perf.run import run_perf as run


def run_failing(options):
    """A run whose every request fails: it writes its files, then raises RunError (exit 1)."""
    with pytest.raises(RunError, match="every request failed") as info:
        run(options)
    return info.value.result


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_url_is_one_clear_line(perf_options):
    port = _free_port()
    with pytest.raises(EvsError, match=rf"cannot connect to 127\.0\.0\.1:{port}"):
        run(perf_options(url=f"http://127.0.0.1:{port}", connect_timeout=2.0))


def test_unreachable_url_cli_exit_code_and_message(tmp_path):
    port = _free_port()
    p = subprocess.run([sys.executable, "-c", "from evs_cli.main import main; main()", "perf", "--url",
                        f"http://127.0.0.1:{port}", "--output-dir", str(tmp_path), "--connect-timeout", "2"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert p.stderr.startswith("Error: cannot connect to 127.0.0.1:")
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_4xx_on_the_first_request_stops_with_the_server_message(mock_server, perf_options):
    srv = mock_server(fault="first-status:404")
    with pytest.raises(EvsError, match="refused: HTTP 404: mock status 404"):
        run(perf_options(url=srv.url, requests="4"))


def test_http_errors_later_are_counted(mock_server, perf_options):
    srv = mock_server(fault="status:503")
    s = run_failing(perf_options(url=srv.url, concurrency="2", requests="6", warmup=0))["summaries"][0]
    assert s["completed"] == 0 and s["failed"] == 6
    assert s["errors_by_kind"] == {"http_status": 6}
    assert "HTTP 503" in s["error_examples"]["http_status"]


def test_server_closing_mid_stream_is_a_counted_failure(mock_server, perf_options):
    srv = mock_server(fault="close-mid-stream", ttft_ms=5, itl_ms=1)
    s = run_failing(perf_options(url=srv.url, concurrency="2", requests="6", max_tokens="16"))["summaries"][0]
    assert s["failed"] == 6 and s["errors_by_kind"] == {"disconnect": 6}
    assert "in the middle of the response" in s["error_examples"]["disconnect"]


def test_malformed_sse_is_a_counted_failure(mock_server, perf_options):
    srv = mock_server(fault="malformed", ttft_ms=1)
    s = run_failing(perf_options(url=srv.url, concurrency="2", requests="4"))["summaries"][0]
    assert s["failed"] == 4 and s["errors_by_kind"] == {"malformed": 4}
    assert "malformed SSE data" in s["error_examples"]["malformed"]


def test_a_server_that_never_answers_ends_within_the_timeout(mock_server, perf_options):
    srv = mock_server(fault="hang")
    with pytest.raises(EvsError, match=r"no complete response within 1s"):
        run(perf_options(url=srv.url, timeout=1.0, requests="3"))


def test_read_timeout_counts_stalled_streams(mock_server, perf_options):
    # first token after 50 ms, then 400 ms between tokens: a 0.2 s read timeout fails every stream
    srv = mock_server(ttft_ms=50, itl_ms=400, output_tokens=4)
    with pytest.raises(EvsError, match="no data from the server for 0.2s"):
        run(perf_options(url=srv.url, read_timeout=0.2, requests="2", max_tokens="4"))


@pytest.mark.parametrize("overrides, message", [
    ({"url": "ftp://x"}, "--url must be an http"),
    ({"api": "chatt"}, "unknown perf API 'chatt'; did you mean 'chat'"),
    ({"dataset": "randon"}, "unknown perf dataset 'randon'; did you mean 'random'"),
    ({"concurrency": "1,x"}, "--concurrency: 'x' is not a number"),
    ({"slo": "ttfx_p99<=5ms"}, "--slo: unknown metric"),
    ({"extra_body": "{bad"}, "--extra-body is not valid JSON"),
    ({"dataset": "openqa"}, "--dataset openqa needs --dataset-path"),
    ({"input_tokens": "9-3"}, "--input-tokens: bad range"),
    ({"tokenizer": "/nonexistent/tok"}, "--tokenizer: no such file or folder"),
    ({"requests": "1,2,3", "concurrency": "1,2"}, "--requests has 3 values but the sweep has 2 points"),
])
def test_bad_options_are_config_errors_before_any_request(perf_options, overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("-", r"\-")):
        run(perf_options(**{"url": "http://127.0.0.1:9", **overrides}))
