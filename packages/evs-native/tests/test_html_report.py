"""report.html: written by every `evs eval` run and by `evs report`; self-contained, escaped, inert.

The browser test opens the file from disk in Debian's Chromium with every network request
blocked and counted, and checks that each section renders and that a script or a markdown
image in a model answer neither runs nor fetches.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.engine import run_task

HOSTILE = ("<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> "
           "![tracker](http://127.0.0.1:9/pixel.png) <b>bold?</b>")


DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _gsm8k_gold() -> dict[str, str]:
    gold = {}
    for line in (DATA / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:8]:
        row = json.loads(line)
        gold[row["question"]] = row["answer"].rsplit("####", 1)[1].strip().replace(",", "")
    return gold


def _responder(body):
    """Hostile text first; gsm8k right on the questions whose gold is even, multiple choice always A."""
    text = last_user_text(body)
    for question, gold in GOLD.items():
        if question in text:
            return f"{HOSTILE}\nThe answer is {gold if int(gold) % 2 == 0 else int(gold) + 1}."
    return f"{HOSTILE}\nThe answer is A."


GOLD = _gsm8k_gold() if (DATA / "gsm8k" / "test.jsonl").exists() else {}


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html_text: str) -> _Collect:
    c = _Collect()
    c.feed(html_text)
    return c


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    data = DATA
    if not (data / "gsm8k" / "test.jsonl").exists():
        pytest.fail("benchmark data ../shared/data is missing")
    work = tmp_path_factory.mktemp("html")
    with FakeOpenAIServer(_responder) as srv:
        reports = run_task({"model": "fake-model", "api_url": srv.url, "api_key": "sk-SECRET-123",
                            "datasets": ["gsm8k", "arc", "mmlu"], "limit": 4, "dataset_dir": str(data),
                            "work_dir": str(work), "no_progress": True,
                            "dataset_args": {"gsm8k": {"few_shot_num": 0}, "mmlu": {"few_shot_num": 0}}})
    run = next(p for p in work.iterdir() if p.is_dir())
    return run, reports


def test_every_run_writes_a_self_contained_escaped_report(run_dir):
    run, reports = run_dir
    page = (run / "report.html").read_text(encoding="utf-8")
    doc = _parse(page)
    # Inert: no script element, no external resource, no event handler attribute.
    assert not [t for t, _ in doc.tags if t in ("script", "iframe", "object", "embed", "link", "img")]
    for tag, attrs in doc.tags:
        for k, v in attrs.items():
            assert not k.startswith("on"), (tag, k)
            if k in ("src", "href", "action"):
                assert v.startswith("#") or v.startswith("data:"), (tag, k, v)
    # The model's hostile text is present as text.
    text = "".join(doc.text)
    assert "<script>window.__pwned = 1</script>" in text
    assert "![tracker](http://127.0.0.1:9/pixel.png)" in text
    # The key never appears; the scores are the reports' own.
    assert "sk-SECRET-123" not in page
    for name, rep in reports.items():
        section = page.split(f"id='b0-{name}'", 1)[1]
        assert f"{rep.score:.4f}" in section.split("<h2", 1)[0]
        lo, hi = rep.ci95
        assert f"[{lo:.3f}, {hi:.3f}]" in page
    for title in ("Overview", "Configuration", "gsm8k", "arc", "mmlu"):
        assert re.search(rf"<h2[^>]*>{title}", page), title
    assert "<svg" in page  # the radar of three benchmarks
    assert len(page.encode()) < 2_000_000


def test_samples_shown_are_the_reviews_right_and_wrong(run_dir):
    run, reports = run_dir
    page = (run / "report.html").read_text(encoding="utf-8")
    reviews = [json.loads(x) for x in (run / "reviews" / "fake-model" / "gsm8k.jsonl").read_text().splitlines()]
    right = [r for r in reviews if r["scores"].get("acc") == 1.0]
    wrong = [r for r in reviews if r["scores"].get("acc") == 0.0]
    even = sum(int(GOLD[q]) % 2 == 0 for q in list(GOLD)[:4])
    assert (len(right), len(wrong)) == (even, 4 - even)  # what the responder decided
    section = page.split("id='b0-gsm8k'", 1)[1].split("<h2", 1)[0]
    assert (f"<h4>right ({min(3, len(right))} shown)</h4>" in section) == bool(right)
    assert (f"<h4>wrong ({min(3, len(wrong))} shown)</h4>" in section) == bool(wrong)
    for r in (right[:3] + wrong[:3]):
        assert f"{r['sample_id']} · subset" in section


def test_evs_report_side_by_side_and_bad_input(run_dir, tmp_path):
    run, reports = run_dir
    out = tmp_path / "both.html"
    evs = [str(Path(sys.executable).parent / "evs")]
    p = subprocess.run([*evs, "report", str(run), str(run), "-o", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count("fake-model (" + run.name + ")") >= 2  # one column per run in the overview
    # Rewriting an old run's page gives the same scores.
    (run / "report.html").unlink()
    p = subprocess.run([*evs, "report", str(run)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and (run / "report.html").exists()
    # Bad input: one line, exit 2, nothing written.
    p = subprocess.run([*evs, "report", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "not an evs eval run folder" in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "report.html").exists()
    p = subprocess.run([*evs, "report", str(run), str(run)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "--output" in p.stderr


def test_long_outputs_are_clipped(tmp_path):
    from evs_native.html_report import MAX_CHARS, render

    with FakeOpenAIServer(lambda body: "x" * 50_000 + " The answer is 42.") as srv:
        data = Path(__file__).resolve().parents[3].parent / "shared" / "data"
        run_task({"model": "m", "api_url": srv.url, "datasets": ["gsm8k"], "limit": 9, "dataset_dir": str(data),
                  "work_dir": str(tmp_path), "no_progress": True, "dataset_args": {"gsm8k": {"few_shot_num": 0}}})
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    page = render([run])
    # at most 3 right + 3 wrong + 3 failed samples, each answer clipped to MAX_CHARS
    assert page.count("x" * MAX_CHARS) <= 9
    assert "more characters in the reviews file" in page
    assert len(page) < 9 * (MAX_CHARS + 2000) + 50_000


@pytest.mark.browser
def test_report_opens_offline_in_chromium_and_runs_no_script(run_dir):
    run, _ = run_dir
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.fail("Debian's chromium is not installed (tools/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                          "--disable-background-networking", "--disable-component-update"])
        try:
            ctx = browser.new_context(offline=True)

            def block(route):
                if not route.request.url.startswith("file://"):
                    requests.append(route.request.url)
                    return route.abort()
                return route.continue_()

            ctx.route("**/*", block)
            pg = ctx.new_page()
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto((run / "report.html").as_uri())
            pg.wait_for_load_state("load")
            for title in ("Overview", "gsm8k", "arc", "mmlu", "Configuration"):
                assert pg.locator("h2", has_text=title).first.is_visible(), title
            assert pg.locator("svg").count() >= 1
            assert pg.evaluate("() => window.__pwned === undefined")
            assert "<script>window.__pwned = 1</script>" in pg.inner_text("body")
            assert pg.locator(".sample").count() >= 3
            shots = Path(__file__).resolve().parents[3] / "test-artifacts" / "report"
            shots.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(shots / "report.png"), full_page=True)
        finally:
            browser.close()
    assert requests == [], requests
    assert errors == []
