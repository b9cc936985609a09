"""The dashboard shows user data as text: a Markdown image or HTML a model wrote is displayed, never
fetched. EvalScope run folders are listed beside evs's; a perf folder with cut files shows a note,
never a traceback. Debian's Chromium driven by the PyPI playwright package (never `playwright install`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
UI_TIMEOUT_MS = 30_000


def _evs() -> list[str]:
    exe = shutil.which("evs", path=str(Path(sys.executable).parent)) or shutil.which("evs")
    return [exe] if exe else [sys.executable, "-c", "from evs_cli.main import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Pixel:
    """A server on 127.0.0.1 that counts every request: the URL planted in the data."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@pytest.fixture(scope="module")
def site(tmp_path_factory, evalscope_layout):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pytest.importorskip("evs_native", reason="the test needs a real `evs eval` run")
    write_evalscope_eval, write_evalscope_perf = evalscope_layout

    base = tmp_path_factory.mktemp("viztext")
    pixel = _Pixel()
    data, out = base / "data", base / "outputs"
    (data / "gsm8k").mkdir(parents=True)
    with open(data / "gsm8k" / "test.jsonl", "w", encoding="utf-8") as f:
        for i in range(2):
            f.write(json.dumps({"question": f"What is {i} plus {i}? ![q]({pixel.url}/question.png)",
                                "answer": f"![gold]({pixel.url}/gold.png)\n#### {2 * i}"}) + "\n")
    answer = (f"![pwned]({pixel.url}/answer.png) **bold** <img src=\"{pixel.url}/html.png\"> "
              f"[link]({pixel.url}/link) :red[red] The answer is 0.")
    proc = subprocess.run(_evs() + ["eval", "--model", "mock", "--model-type", "mock",
                                    "--model-args", json.dumps({"mode": "constant", "text": answer}),
                                    "--model-id", f"![m]({pixel.url}/model.png)", "--datasets", "gsm8k",
                                    "--dataset-args", '{"gsm8k": {"few_shot_num": 0}}',
                                    "--dataset-dir", str(data), "--work-dir", str(out / "evals"), "--no-progress"],
                          capture_output=True, text=True, timeout=120, cwd=base)
    assert proc.returncode == 0, proc.stderr
    write_evalscope_eval(out / "evalscope")
    write_evalscope_perf(out / "evalscope_perf")
    cut = write_evalscope_perf(out / "cut_perf", model="cutmodel")
    for f in cut.rglob("benchmark_*.json"):
        f.write_text(f.read_text()[:30])
    (run_dir,) = list((out / "evals").iterdir())

    port = _free_port()
    log = open(base / "viz.log", "w")
    viz = subprocess.Popen(_evs() + ["viz", "--outputs", str(out), "--port", str(port)], cwd=base, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
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
        yield {"base": f"http://127.0.0.1:{port}", "pixel": pixel, "run": f"evals/{run_dir.name}",
               "model_dir": next((run_dir / "reports").iterdir()).name}
    finally:
        _stop(viz)
        log.close()
        pixel.close()


@pytest.fixture(scope="module")
def page(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            pg = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            yield pg
            assert not errors, errors
        finally:
            browser.close()


def _open(pg, base: str, name: str, **params: str) -> None:
    qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"page": name, **params}.items())
    pg.goto(f"{base}/?{qs}")
    pg.get_by_text("evs viz", exact=True).first.wait_for(timeout=UI_TIMEOUT_MS)
    pg.wait_for_function(
        """() => document.querySelector('[data-testid="stMain"]') !== null
            && document.querySelector('[data-testid="stStatusWidget"]') === null
            && [...document.querySelectorAll('[data-testid="stSkeleton"]')].every(e => e.offsetParent === null)""",
        timeout=UI_TIMEOUT_MS)
    pg.wait_for_timeout(500)


def _wait_text(pg, text: str) -> None:
    """A busy machine renders tables and code blocks late: wait for the text to be in the page."""
    pg.wait_for_function("t => (document.querySelector('[data-testid=\"stMain\"]') || {textContent: ''})"
                         ".textContent.includes(t)", arg=text, timeout=UI_TIMEOUT_MS)


def _no_exception(pg) -> None:
    assert pg.locator("[data-testid='stException']").count() == 0, \
        pg.locator("[data-testid='stException']").first.inner_text()


def test_markdown_in_data_is_shown_as_text_and_fetches_nothing(site, page):
    base, pixel = site["base"], site["pixel"]
    _open(page, base, "samples", run=site["run"], model=site["model_dir"], dataset="gsm8k")
    page.get_by_text("Output", exact=True).first.wait_for(timeout=UI_TIMEOUT_MS)
    _wait_text(page, "![pwned]")
    text = page.locator("[data-testid='stMain']").text_content()
    assert f"![pwned]({pixel.url}/answer.png)" in text and "**bold**" in text  # the model's answer, as text
    assert f"![q]({pixel.url}/question.png)" in text  # the prompt, as text
    assert f"![m]({pixel.url}/model.png) on gsm8k" in page.locator("[data-testid='stMain']").inner_text()
    assert page.locator("[data-testid='stMain'] img").count() == 0
    for name in ("runs", "run", "compare"):
        _open(page, base, name, run=site["run"])
        _no_exception(page)
        imgs = page.locator("[data-testid='stMain'] img")
        assert imgs.count() == 0, (name, [imgs.nth(i).evaluate("e => e.outerHTML + ' IN ' + "
                                                               "e.parentElement.parentElement.outerHTML.slice(0, 400)")
                                          for i in range(imgs.count())])
    _open(page, base, "runs")
    _wait_text(page, "model.png")
    assert f"![m]({pixel.url}/model.png)" in page.locator("[data-testid='stMain']").inner_text()
    page.wait_for_timeout(1000)
    assert pixel.hits == [], pixel.hits


def test_evalscope_runs_are_listed_and_cut_perf_files_show_no_traceback(site, page):
    base = site["base"]
    _open(page, base, "runs")
    _wait_text(page, "Qwen2.5-0.5B-Instruct")
    main = page.locator("[data-testid='stMain']").inner_text()
    assert "Qwen2.5-0.5B-Instruct" in main and "evalscope_perf/20250111_090000/qwen2.5" in main
    _open(page, base, "perf", perf="evalscope_perf/20250111_090000/qwen2.5")
    _wait_text(page, "concurrency=10")
    _no_exception(page)
    assert "concurrency=10" in page.locator("[data-testid='stMain']").inner_text()
    cut = [r for r in ("cut_perf/20250111_090000/cutmodel/parallel_1_number_10",
                       "cut_perf/20250111_090000/cutmodel/parallel_10_number_100")]
    _open(page, base, "perf", perf=cut[0])
    _no_exception(page)
    main = page.locator("[data-testid='stMain']").inner_text()
    assert "Traceback" not in main and "KeyError" not in main
    assert "No readable summary" in main or "cannot be parsed" in main or "not valid JSON" in main, main
