"""End to end: real `evs eval` and `evs perf` runs, `evs viz` on 127.0.0.1, Debian's Chromium
driven by the PyPI `playwright` package (never `playwright install`).

Screenshots go to test-artifacts/viz/ at the repository root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "viz"
READY_TIMEOUT_S = 60
UI_TIMEOUT_MS = 30_000


def _need(cond: bool, reason: str) -> None:
    if not cond:
        pytest.skip(reason)


def _evs() -> list[str]:
    exe = shutil.which("evs", path=str(Path(sys.executable).parent)) or shutil.which("evs")
    return [exe] if exe else [sys.executable, "-m", "evs_cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], cwd: Path) -> str:
    p = subprocess.run(_evs() + args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"evs {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout + p.stderr


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _write_data(data: Path) -> None:
    """A few rows in the real schemas of ARC (allenai/ai2_arc) and GSM8K (openai/gsm8k)."""
    (data / "arc" / "ARC-Challenge").mkdir(parents=True)
    with open(data / "arc" / "ARC-Challenge" / "test.jsonl", "w", encoding="utf-8") as f:
        for i in range(16):
            f.write(json.dumps({"id": f"Q{i:02d}", "question": f"Test question number {i}: which option is right?",
                                "choices": {"text": [f"option {c} of {i}" for c in "ABCD"], "label": list("ABCD")},
                                "answerKey": "ABCD"[(i * 7) % 4]}) + "\n")
    (data / "gsm8k").mkdir()
    with open(data / "gsm8k" / "test.jsonl", "w", encoding="utf-8") as f:
        for i in range(8):
            f.write(json.dumps({"question": f"What is {i} plus {i}?", "answer": f"{i} + {i} = {2 * i}\n#### {2 * i}"}) + "\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Outputs from real runs, and `evs viz` serving them: (base_url, facts about the runs)."""
    _need(CHROMIUM.exists(), "Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")
    for mod, what in (("evs_native", "evs eval"), ("evs_perf", "evs perf")):
        try:
            __import__(mod)
        except ImportError:
            pytest.skip(f"{mod} is not installed; the browser test needs real `{what}` runs")

    base = tmp_path_factory.mktemp("viz")
    data, out = base / "data", base / "outputs"
    _write_data(data)
    common = ["--datasets", "arc", "gsm8k", "--dataset-args", '{"gsm8k": {"few_shot_num": 0}}',
              "--dataset-dir", str(data), "--work-dir", str(out / "evals"), "--no-progress"]
    _run(["eval", "--model", "mock", "--model-args", '{"mode": "hash"}'] + common, base)
    _run(["eval", "--model-type", "mock", "--model", "other-mock", "--model-args",
          '{"mode": "constant", "text": "<think>Weighing the options.</think>ANSWER: B"}'] + common, base)
    runs = {p.parent.parent.parent.name: p for p in (out / "evals").glob("*/reports/*/arc.json")}
    # A third run folder, left partial as if the process had been killed: no report, a cut line.
    src = next(iter(runs.values())).parents[2]
    partial = out / "evals" / "crashed_run"
    shutil.copytree(src, partial)
    shutil.rmtree(partial / "reports")
    with open(next((partial / "predictions").glob("*/arc.jsonl")), "a", encoding="utf-8") as f:
        f.write('{"schema_version": "1", "sample_id": "cut')

    # Perf: the mock server, a concurrency sweep and a single-point run.
    server = subprocess.Popen(_evs() + ["perf", "mock-server", "--port", "0", "--ttft-ms", "15", "--itl-ms", "1",
                                        "--output-tokens", "16"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    viz = None
    try:
        line = server.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert m, f"mock server did not start: {line}"
        url = f"http://127.0.0.1:{m.group(1)}"
        perf_common = ["--url", url, "--max-tokens", "16", "--output-dir", str(out / "perf"), "--no-progress", "--no-html"]
        _run(["perf", "-c", "1,4", "-n", "8", "--name", "sweep"] + perf_common, base)
        _run(["perf", "-c", "2", "-n", "6", "--name", "single"] + perf_common, base)
    finally:
        _stop(server)

    facts = {"reports": {}, "reviews": {}, "outputs": out}
    for rep in (out / "evals").glob("*/reports/*/*.json"):
        r = json.loads(rep.read_text())
        facts["reports"][(r["model"], r["dataset"])] = (rep.parents[2].name, r["score"])
    for rev in (out / "evals").glob("*/reviews/*/arc.jsonl"):
        if rev.parents[2].name == "crashed_run":
            continue
        rows = [json.loads(x) for x in rev.read_text().splitlines() if x.strip()]
        facts["reviews"][rev.parent.name] = {r["sample_id"]: r["scores"]["acc"] for r in rows}
    facts["perf"] = {p.parent.name: json.loads(p.read_text()) for p in (out / "perf").glob("*/summary*.json")}

    port = _free_port()
    log = open(base / "viz.log", "w")
    viz = subprocess.Popen(_evs() + ["viz", "--outputs", str(out), "--port", str(port)], cwd=base,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert viz.poll() is None, "evs viz exited:\n" + (base / "viz.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "evs viz not ready in time:\n" + (base / "viz.log").read_text()
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", facts
    finally:
        _stop(viz)
        log.close()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def context(browser):
    """One browser context for the module: Streamlit's and Plotly's scripts load once (cached)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 2400})
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context, request):
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    pg.close()
    assert not errors, errors


def _open(pg, base: str, name: str, **params: str) -> None:
    qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"page": name, **params}.items())
    pg.goto(f"{base}/?{qs}")
    pg.get_by_text("evs viz", exact=True).first.wait_for(timeout=UI_TIMEOUT_MS)
    _settle(pg)


def _settle(pg) -> None:
    """Wait until the script run is over: no 'Running' status widget, no visible skeleton placeholder."""
    pg.wait_for_function(
        """() => document.querySelector('[data-testid="stMain"]') !== null
            && document.querySelector('[data-testid="stStatusWidget"]') === null
            && [...document.querySelectorAll('[data-testid="stSkeleton"]')].every(e => e.offsetParent === null)""",
        timeout=UI_TIMEOUT_MS,
    )


def _see(page, text: str, **kw) -> None:
    page.get_by_text(text, **kw).first.wait_for(state="visible", timeout=UI_TIMEOUT_MS)


def _no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator("[data-testid='stException']").first.inner_text()


def test_runs_page(site, page):
    base, facts = site
    _open(page, base, "runs")
    _see(page, "Scores: models × datasets")
    table = page.locator("[data-testid='stTable']").first
    table.wait_for(timeout=UI_TIMEOUT_MS)
    text = table.inner_text()
    for (model, dataset), (_run_name, score) in facts["reports"].items():
        assert re.search(rf"^{re.escape(model)}\b", text, re.M), (model, text)
        assert f"{score:.4f}" in text, (model, dataset, score, text)
    _see(page, "no report yet")  # the crashed run's note on its card
    _see(page, "last line is truncated")
    _no_exception(page)


def test_run_page(site, page):
    base, facts = site
    run_name, score = facts["reports"][("other-mock", "arc")]
    _open(page, base, "run", run=f"evals/{run_name}")
    _see(page, "Scores by dataset")
    table = page.locator("[data-testid='stTable']").first.inner_text()
    assert "other-mock" in table and f"{score:.4f}" in table
    _see(page, "Task config")
    _see(page, "model: other-mock")
    page.locator(".js-plotly-plot").first.wait_for(timeout=UI_TIMEOUT_MS)
    _no_exception(page)


def test_compare_page_per_sample_diff(site, page):
    base, facts = site
    a, b = facts["reviews"]["mock"], facts["reviews"]["other-mock"]
    a_only = sorted(k for k in a if a[k] > b.get(k, a[k]))
    b_only = sorted(k for k in b if b[k] > a.get(k, b[k]))
    assert a_only or b_only, "the two mock models should disagree somewhere"
    _open(page, base, "compare", models="mock,other-mock", dataset="arc", a="mock", b="other-mock")
    _see(page, "Per-sample diff")
    _see(page, f"mock better than other-mock ({len(a_only)})")
    _see(page, f"other-mock better than mock ({len(b_only)})")
    body = page.locator("[data-testid='stMain']").inner_text()
    for sid in a_only + b_only:
        assert sid in body, sid
    assert "McNemar" in body
    assert f"{facts['reports'][('mock', 'arc')][1]:.4f}" in body
    _no_exception(page)


def test_samples_page(site, page):
    base, facts = site
    run_name, _ = facts["reports"][("other-mock", "arc")]
    wrong = sorted(k for k, v in facts["reviews"]["other-mock"].items() if v == 0)[0]
    _open(page, base, "samples", run=f"evals/{run_name}", model="other-mock", dataset="arc", sample=f"{wrong}#0")
    _see(page, f"Sample {wrong} · fail")
    _see(page, "ANSWER: B", exact=True)
    _see(page, "Gold answer:")
    _see(page, f"other-mock on arc · run evals/{run_name}")
    page.get_by_text("Reasoning (").first.click()
    _see(page, "Weighing the options.")
    _see(page, f"Test question number {int(wrong[1:])}: which option is right?")
    _no_exception(page)


def test_perf_page(site, page):
    base, facts = site
    sweep = next(k for k in facts["perf"] if k.startswith("sweep"))
    _open(page, base, "perf", perf=f"perf/{sweep},perf/single")
    _see(page, "Comparison of runs")
    table = page.locator("[data-testid='stTable']").first.inner_text()
    assert "c1" in table and "c4" in table and "c2" in table
    s = facts["perf"][sweep]
    assert f"{s['request_throughput']:.2f}" in table, table
    _see(page, "model_id: mock")
    _see(page, "Percentile curves")
    _see(page, "Metrics against load")
    assert page.locator(".js-plotly-plot").count() == 2  # percentile curves, metrics against load
    _no_exception(page)


def test_viz_serves_no_files_from_disk(site):
    """Streamlit's static serving is off: a file in the outputs root (or above it) is not reachable."""
    base, facts = site
    marker = "evs-viz-marker-7f3a"
    for folder in (facts["outputs"], facts["outputs"].parent):
        (folder / "marker.txt").write_text(marker)
    for path in ("/marker.txt", "/app/static/marker.txt", "/app/static/../marker.txt", "/app/static/..%2Fmarker.txt",
                 "/media/marker.txt", "/outputs/marker.txt"):
        try:
            with urllib.request.urlopen(base + path, timeout=5) as r:
                body = r.read().decode("utf-8", "replace")
        except OSError:
            continue
        assert marker not in body, path
