"""End to end: a real `evs arena` run against fake models and a fake judge on 127.0.0.1, `evs viz`
serving it, Debian's Chromium driven by playwright: leaderboard, whiskers, matrix, battle browser.

evs-viz never imports evs-arena: the arena is run as a command and the page reads its files.
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
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "viz"
UI_TIMEOUT_MS = 90_000
HOSTILE = "<script>alert(1)</script> **not bold** <b>raw</b>"


def _evs() -> list[str]:
    exe = shutil.which("evs", path=str(Path(sys.executable).parent)) or shutil.which("evs")
    return [exe] if exe else [sys.executable, "-m", "evs_cli"]


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


def _idx(text: str) -> int:
    return int(re.search(r"\(prompt (\d+)\)", text).group(1))


@pytest.fixture(scope="module")
def arena_site(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")
    if shutil.which("evs", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the evs command is not installed beside this Python")
    from evs_core.testing import FakeOpenAIServer, last_user_text

    probe = subprocess.run(_evs() + ["arena", "--help"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("evs-arena is not installed; the arena page test needs a real `evs arena` run")

    def model(q_of):
        return lambda body: (f"Answer {_idx(last_user_text(body))} quality={q_of(_idx(last_user_text(body)))}"
                             + (f" {HOSTILE}" if _idx(last_user_text(body)) == 0 else ""))

    def judge(body):
        text = last_user_text(body)
        qa, qb = (int(x) for x in re.findall(r"quality=(\d+)", text))
        label = "A>B" if qa > qb else "B>A" if qb > qa else "A=B"
        return f"Judging prompt {_idx(text)}: A has {qa}, B has {qb}. <i>careful</i>\n[[{label}]]"

    base = tmp_path_factory.mktemp("arena_viz")
    out = base / "outputs"
    prompts = base / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Tell me about item {i}. (prompt {i})"}) + "\n"
                               for i in range(8)))
    servers = [FakeOpenAIServer(model(lambda i: 2 + (i % 3 == 0))).start(),
               FakeOpenAIServer(model(lambda i: 1 + (i % 2))).start(),
               FakeOpenAIServer(judge).start()]
    try:
        models = json.dumps([{"name": "alpha", "model": "a", "api_url": servers[0].url},
                             {"name": "beta", "model": "b", "api_url": servers[1].url}])
        p = subprocess.run(_evs() + ["arena", "--prompts", str(prompts), "--models", models, "--baseline", "beta",
                                     "--judge-args", json.dumps({"model": "judge", "api_url": servers[2].url}),
                                     "--work-dir", str(out / "arenas"), "--bootstrap-rounds", "20", "--no-progress"],
                           capture_output=True, text=True, timeout=120, cwd=base)
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        for s in servers:
            s.stop()
    run = next((out / "arenas").iterdir())
    board = json.loads((run / "leaderboard.json").read_text())
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
        yield f"http://127.0.0.1:{port}", f"arenas/{run.name}", board
    finally:
        _stop(viz)
        log.close()


@pytest.fixture(scope="module")
def page(arena_site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        ctx = b.new_context(viewport={"width": 1400, "height": 3000})
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        try:
            yield pg
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "arena_page.png"), full_page=True)
            b.close()
        assert not errors, errors


def _settle(pg) -> None:
    pg.wait_for_function(
        """() => document.querySelector('[data-testid="stMain"]') !== null
            && document.querySelector('[data-testid="stStatusWidget"]') === null
            && [...document.querySelectorAll('[data-testid="stSkeleton"]')].every(e => e.offsetParent === null)""",
        timeout=UI_TIMEOUT_MS)


def _see(pg, text: str) -> None:
    pg.get_by_text(text).first.wait_for(state="visible", timeout=UI_TIMEOUT_MS)


def test_arena_page_leaderboard_matrix_and_battles(arena_site, page):
    base, rel, board = arena_site
    qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"page": "arena", "arena": rel, "battle": "p0 · alpha vs beta"}.items())
    page.goto(f"{base}/?{qs}")
    page.get_by_text("evs viz", exact=True).first.wait_for(timeout=UI_TIMEOUT_MS)
    _settle(page)
    _see(page, "Leaderboard")
    table = page.locator("[data-testid='stTable']").first.inner_text()
    for d in board["overall"]["models"]:
        assert d["model"] in table and f"{d['rating']:.1f}" in table, (d, table)
        assert f"[{d['lower']:.1f}, {d['upper']:.1f}]" in table
    alpha = next(d for d in board["overall"]["models"] if d["model"] == "alpha")
    assert f"{100 * alpha['win_rate']:.1f}" in table
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=UI_TIMEOUT_MS)
    assert page.locator(".js-plotly-plot").count() == 2  # rating whiskers, pairwise matrix
    assert page.locator(".js-plotly-plot .errorbar").count() >= 1  # the interval whiskers are drawn
    _see(page, "Pairwise win rates")
    _see(page, "Battles")
    # The battle chosen in the URL: prompt, both answers, both judge replies, shown as text.
    _see(page, "Tell me about item 0. (prompt 0)")
    _see(page, "Answer of alpha")
    _see(page, "Game 2: A = beta, B = alpha")
    main = page.locator("[data-testid='stMain']").inner_text()
    assert HOSTILE in main  # rendered literally: no script, no markdown, no HTML
    assert "Judging prompt 0" in main and "<i>careful</i>" in main
    assert page.locator("[data-testid='stMain'] b", has_text="raw").count() == 0
    assert page.locator("[data-testid='stMain'] i", has_text="careful").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
