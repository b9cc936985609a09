"""Bad input refused before any request or file write; secrets absent from every byte written or printed."""

from __future__ import annotations

import contextlib
import io
import json
import urllib.request
from pathlib import Path

import pytest


def _invoke(args):
    from evs_cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code or 0
    return code, out.getvalue(), err.getvalue()


def _requests(srv):
    with urllib.request.urlopen(srv.url + "/mock/requests", timeout=5) as r:
        return json.loads(r.read())["requests"]


BAD = [
    (["--slo", "ttft_p99<=1.2.3ms"], "--slo: '1.2.3' in 'ttft_p99<=1.2.3ms' is not a number"),
    (["--slo", "ttft_p97<=500ms"], "--slo: 'p97' in 'ttft_p97<=500ms' is not reported"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--rate", "nan"], "--rate: 'nan' is not a finite number"),
    (["--duration", "-5"], "--duration must be positive, not -5"),
    (["--timeout", "0"], "--timeout must be positive"),
    (["--temperature", "nan"], "--temperature: nan is not a finite number"),
    (["--headers", "no separator"], "--headers: expected 'Name: value' or 'name=value'"),
    (["--name", "../escape"], "--name must be a plain folder name"),
    (["--max-tokens", "1", "2", "3"], "--max-tokens takes N, MIN-MAX or two values MIN MAX"),
    (["--min-tokens", "50", "--max-tokens", "10"], "--min-tokens 50 is above --max-tokens 10"),
    (["--prompt", "@/nonexistent/prompt.txt"], "--prompt: no such file"),
    (["--query-template", "{\"model\": bad"], "--query-template looks like JSON but is not valid"),
    (["--multi-turn", "--api", "completions"], "--multi-turn needs a chat API"),
    (["--max-turns", "1", "--min-turns", "3"], "--max-turns 1 is below --min-turns 3"),
    (["--image-format", "CMYK"], "--image-format 'CMYK'"),
    (["--dataset", "workload_trace"], "--dataset workload_trace needs --dataset-path"),
    (["--data-source", "modelscope", "--dataset", "longalpaca"], "--data-source 'modelscope'"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_before_any_request_or_file(mock_server, tmp_path, args, message):
    srv = mock_server()
    out_dir = tmp_path / "out"
    code, out, err = _invoke(["perf", "--url", srv.url, "--model", "m", "-n", "2", "--output-dir", str(out_dir),
                              "--no-progress"] + args)
    assert code == 2, (out, err)
    assert err.startswith("Error: ") and message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + out
    assert _requests(srv) == []  # nothing sent
    assert not out_dir.exists()  # nothing written


def test_output_dir_under_a_file_and_non_utf8_dataset(mock_server, tmp_path):
    srv = mock_server()
    (tmp_path / "afile").write_text("x")
    code, _, err = _invoke(["perf", "--url", srv.url, "--model", "m", "-n", "2", "--output-dir",
                            str(tmp_path / "afile" / "sub")])
    assert code == 2 and "is a file, not a folder" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "qa.jsonl"
    bad.write_bytes(b'{"question": "caf\xe9"}\n')
    code, _, err = _invoke(["perf", "--url", srv.url, "--model", "m", "-n", "2", "--dataset", "openqa",
                            "--dataset-path", str(bad), "--output-dir", str(tmp_path / "o2")])
    assert code == 2 and "is not UTF-8 text" in err and "Traceback" not in err
    assert _requests(srv) == [] and not (tmp_path / "o2").exists()


def test_concurrency_checked_against_the_open_file_limit(perf_options, monkeypatch):
    import resource

    from evs_core.errors import ConfigError
    from evs_perf.run import run_perf

    monkeypatch.setattr(resource, "getrlimit", lambda _k: (256, 512))
    with pytest.raises(ConfigError, match="--concurrency 5000 needs 5064 open files but the limit is 512"):
        run_perf(perf_options(url="http://127.0.0.1:9", concurrency="5000", requests="5000"))


def test_secrets_never_appear_in_anything_written_or_printed(mock_server, tmp_path):
    # four ways to pass a credential, and a server that echoes what it got in its 401 body
    srv = mock_server(fault="echo-auth")
    key = "sk-PLANTEDapikey0123456789"
    header_token = "HDRtoken-9876543210abcdef"
    user, password = "alice", "PaSsWoRd-in-url-42"
    url = srv.url.replace("http://", f"http://{user}:{password}@")
    out_dir = tmp_path / "out"
    code, out, err = _invoke(["perf", "--url", url, "--model", "m", "-n", "4", "--api-key", key,
                              "--headers", f"X-Api-Key={header_token}", "--output-dir", str(out_dir),
                              "--no-progress"])
    assert code == 1 and "every request failed (http_status 4" in err  # the mock refused every measured request
    reqs = _requests(srv)
    assert any(key in json.dumps(r["headers"]) for r in reqs)  # the key was sent (and echoed back)
    import base64

    planted = [key, header_token, password, base64.b64encode(f"{user}:{password}".encode()).decode()]
    written = [p for p in out_dir.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"summary.json", "records.sqlite", "report.html", "config.json",
                                         "percentiles.json", "sweep.json"}
    blobs = [p.read_bytes() for p in written] + [out.encode(), err.encode()]
    for secret in planted:
        for blob in blobs:
            assert secret.encode() not in blob, secret
    summary = json.loads((next(out_dir.glob("*/summary.json"))).read_text())
    assert "invalid credentials" in summary["error_examples"]["http_status"]  # the message is kept, masked
    assert "***" in summary["error_examples"]["http_status"]


def test_a_config_built_in_python_is_checked_like_the_cli(mock_server, tmp_path):
    from evs_core.errors import ConfigError
    from evs_perf.config import PerfConfig
    from evs_perf.run import run_perf

    with pytest.raises(ConfigError, match="--duration must be positive"):
        run_perf(PerfConfig(url="http://127.0.0.1:9", duration=-5))
    with pytest.raises(ConfigError, match="unknown perf option 'temprature'; did you mean 'temperature'"):
        run_perf({"url": "http://127.0.0.1:9", "temprature": 0.5})
    srv = mock_server()
    out = run_perf(PerfConfig(url=srv.url, model="m", concurrency=[2], requests=[4], max_tokens="8", warmup=0,
                              no_progress=True, no_html=True, output_dir=str(tmp_path)))
    assert out["summaries"][0]["completed"] == 4 and out["summaries"][0]["max_concurrency"] == 2


def test_concurrency_checked_against_the_local_port_range(perf_options, monkeypatch):
    import resource

    from evs_core.errors import ConfigError
    from evs_perf.run import run_perf

    if not Path("/proc/sys/net/ipv4/ip_local_port_range").is_file():
        pytest.skip("no /proc/sys/net/ipv4/ip_local_port_range on this system (not Linux)")
    monkeypatch.setattr(resource, "getrlimit", lambda _k: (10**6, 10**6))  # open files are not the limit here
    with pytest.raises(ConfigError, match=r"--concurrency 60000 would take more than half of the \d+ local ports"):
        run_perf(perf_options(url="http://127.0.0.1:9", concurrency="60000", requests="60000"))
