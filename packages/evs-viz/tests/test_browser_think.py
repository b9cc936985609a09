"""The Run page draws one thinking-efficiency chart per model for think_eval reports: real think_eval
runs (`run_task` against fake model and judge servers on 127.0.0.1), `evs viz` on 127.0.0.1, Debian's
Chromium driven by the PyPI playwright package (never `playwright install`)."""

from __future__ import annotations

import base64
import json
import os
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
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
UI_TIMEOUT_MS = 30_000
PROBLEMS = [("What is 2 + 3?", "5", 1), ("What is 4 + 4?", "8", 1), ("What is 9 - 2?", "7", 2),
            ("What is 3 * 3?", "9", 2)]


def _evs() -> list[str]:
    exe = shutil.which("evs", path=str(Path(sys.executable).parent)) or shutil.which("evs")
    return [exe] if exe else [sys.executable, "-c", "from evs_cli.main import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _think_runs(base: Path) -> dict[str, dict]:
    """Two models' think_eval runs; returns each model's report (as written)."""
    from evs_core.testing import FakeOpenAIServer, last_user_text
    from evs_native.engine import run_task

    data = base / "data"
    (data / "math_500").mkdir(parents=True)
    (data / "math_500" / "test.jsonl").write_text("".join(json.dumps(
        {"problem": q, "solution": a, "answer": a, "subject": "Prealgebra", "level": lvl,
         "unique_id": f"test/{i}.json"}) + "\n" for i, (q, a, lvl) in enumerate(PROBLEMS)))
    enc = base / "bytes.tiktoken"  # one token per byte
    enc.write_text("".join(f"{base64.b64encode(bytes([i])).decode()} {i}\n" for i in range(256)))

    def index_of(body):
        return next(i for i, (q, _, _) in enumerate(PROBLEMS) if q in last_user_text(body))

    reports = {}
    for model, extra in (("think-a", 1), ("think-b", 3)):
        def reasoning(body, extra=extra):
            i = index_of(body)
            steps = ["Read it.", f"The sum is {PROBLEMS[i][1]}."] + ["But wait, check again."] * extra
            return "\n\n".join(steps)

        def judge(body):
            return "\\boxed{1}"

        with FakeOpenAIServer(lambda b: f"\\boxed{{{PROBLEMS[index_of(b)][1]}}}", reasoning=reasoning) as srv, \
                FakeOpenAIServer(judge) as jsrv:
            rep = run_task({"model": model, "api_url": srv.url, "api_key": "EMPTY", "datasets": ["think_eval"],
                            "dataset_dir": str(data), "work_dir": str(base / "outputs" / "evals"),
                            "no_progress": True, "retries": 0,
                            "dataset_args": {"think_eval": {"tokenizer": str(enc),
                                                            "subset_list": ["Level 1", "Level 2"]}},
                            "judge": {"model": "j", "api_url": jsrv.url}})["think_eval"]
        reports[model] = json.loads(rep.model_dump_json())
    return reports


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pytest.importorskip("evs_native", reason="the test needs real think_eval runs")
    base = tmp_path_factory.mktemp("vizthink")
    reports = _think_runs(base)
    runs = sorted(p.name for p in (base / "outputs" / "evals").iterdir())
    port = _free_port()
    log = open(base / "viz.log", "w")
    viz = subprocess.Popen(_evs() + ["viz", "--outputs", str(base / "outputs"), "--port", str(port)], cwd=base,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert viz.poll() is None, (base / "viz.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (base / "viz.log").read_text()
            time.sleep(0.3)
        yield {"base": f"http://127.0.0.1:{port}", "runs": runs, "reports": reports}
    finally:
        _stop(viz)
        log.close()


def test_run_page_draws_one_thinking_chart_per_model(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            pg = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            for run, model in zip(site["runs"], ("think-a", "think-b"), strict=True):
                pg.goto(f"{site['base']}/?page=run&run={quote('evals/' + run, safe='')}")
                pg.wait_for_function("t => (document.querySelector('[data-testid=\"stMain\"]') || "
                                     "{textContent: ''}).textContent.includes(t)", arg="Thinking efficiency",
                                     timeout=UI_TIMEOUT_MS)
                pg.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.layout"
                                     " && ((p.layout.title || {}).text || '').includes('Thinking efficiency'))",
                                     timeout=UI_TIMEOUT_MS)
                charts = pg.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                                     ".filter(p => ((p.layout.title || {}).text || '').includes('Thinking efficiency'))"
                                     ".map(p => ({title: p.layout.title.text.replace(/<[^>]*>/g, ''), traces: p.data.map("
                                     "t => ({name: t.name, x: [...t.x], y: [...t.y]}))}))")
                assert len(charts) == 1, charts
                assert charts[0]["title"] == f"Thinking efficiency · {model} on think_eval"
                rep = site["reports"][model]
                by_name = {t["name"]: t for t in charts[0]["traces"]}
                subs = {s["name"]: s for s in rep["subsets"] if s["kind"] == "subset"}
                for metric, label in (("reasoning_tokens", "Reasoning tokens"), ("token_efficiency", "Token efficiency"),
                                      ("thought_num", "Thought num"), ("reflection_tokens", "Reflection tokens")):
                    assert by_name[label]["x"] == ["Level 1", "Level 2"]
                    assert by_name[label]["y"] == pytest.approx([subs[s]["metrics"][metric]["score"]
                                                                 for s in ("Level 1", "Level 2")])
                assert pg.locator("[data-testid='stException']").count() == 0
            # think-b reflects more after the answer: its reflection tokens and switches are higher
            a, b = (site["reports"][m]["metrics"] for m in ("think-a", "think-b"))
            assert b["reflection_tokens"]["score"] > a["reflection_tokens"]["score"]
            assert b["thought_num"]["score"] == 3 and a["thought_num"]["score"] == 1
            assert not errors, errors
        finally:
            browser.close()
