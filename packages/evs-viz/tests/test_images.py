"""Images of a sample beside its answer: the data side (which references are read, which are not)
and the browser (the image is on the samples page next to the output and the gold answer)."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import time
import urllib.request
import zlib
from pathlib import Path

import pytest
from evs_core.outputs import JsonlAppender, atomic_write_text
from evs_core.schema import ModelOutput, Prediction, Report, Review, Stat

from evs_viz import data as D


def png(w: int, h: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG written by hand (the dashboard needs no imaging library)."""
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def data_url(b: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(b).decode()


def write_image_run(root: Path, local_image: Path) -> Path:
    run = root / "20260101_000000"
    for sub in ("configs", "logs", "predictions", "reviews", "reports"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    samples = [("s0", [{"type": "text", "text": "Which colour is the square?"},
                       {"type": "image_url", "image_url": {"url": data_url(png(40, 30, (220, 20, 20)))}}], "A", "A"),
               ("s1", [{"type": "image_url", "image_url": {"url": str(local_image)}},
                       {"type": "text", "text": "And this one?"}], "B", "C"),
               ("s2", [{"type": "text", "text": "Missing?"},
                       {"type": "image_url", "image_url": {"url": str(root / "gone.png")}}], "A", "B")]
    preds = JsonlAppender(run / "predictions" / "vlm-model" / "mmmu.jsonl")  # writes inline images to media/
    reviews = []
    for sid, content, gold, answer in samples:
        preds.write(Prediction(sample_id=sid, request={"kind": "generate", "messages": [{"role": "user", "content": content}]},
                               output=ModelOutput(text=f"Thinking.\nANSWER: {answer}")))
        reviews.append(Review(sample_id=sid, target=gold, prediction=f"ANSWER: {answer}", extracted=answer,
                              extraction_rule="answer_marker", scores={"acc": float(gold == answer)}))
    preds.close()
    atomic_write_text(run / "reviews" / "vlm-model" / "mmmu.jsonl", "".join(r.model_dump_json() + "\n" for r in reviews))
    rep = Report(model="vlm-model", dataset="mmmu", benchmark_version="1", metric="acc", score=1 / 3, num=3,
                 num_samples=3, num_errors=0, metrics={"acc": Stat(score=1 / 3, num=3)})
    atomic_write_text(run / "reports" / "vlm-model" / "mmmu.json", rep.model_dump_json())
    return run


def test_read_image_rules(tmp_path):
    img = tmp_path / "blue.png"
    img.write_bytes(png(8, 8, (0, 0, 255)))
    run = write_image_run(tmp_path / "out", img)
    lines = [json.loads(x) for x in (run / "predictions" / "vlm-model" / "mmmu.jsonl").read_text().splitlines()]
    ref = D.image_urls(lines[0]["request"]["messages"][0]["content"])[0]
    assert ref.startswith("media/")
    data, _ = D.read_image(ref, run)
    assert data == png(40, 30, (220, 20, 20))
    assert D.read_image(str(img), run)[0] == img.read_bytes()
    assert D.read_image("media/../../../etc/passwd", run) == (None, "image not readable: media/../../../etc/passwd")
    (tmp_path / "notes.png").write_text("secret")
    assert D.read_image(str(tmp_path / "notes.png"), run)[0] is None  # not an image signature
    assert D.read_image("https://example.com/a.png", run)[1].startswith("remote image, not fetched")
    assert D.read_image(str(tmp_path / "gone.png"), run)[1].startswith("image not found")


@pytest.mark.browser
def test_samples_page_shows_images(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("_viz_browser", Path(__file__).with_name("test_browser.py"))
    tb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tb)
    CHROMIUM, CHROMIUM_ARGS, READY_TIMEOUT_S = tb.CHROMIUM, tb.CHROMIUM_ARGS, tb.READY_TIMEOUT_S
    _evs, _free_port, _need, _stop = tb._evs, tb._free_port, tb._need, tb._stop

    _need(CHROMIUM.exists(), "Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")
    from playwright.sync_api import sync_playwright

    img = tmp_path / "blue.png"
    img.write_bytes(png(24, 16, (20, 20, 220)))
    out = tmp_path / "outputs"
    run = write_image_run(out, img)
    port = _free_port()
    log = open(tmp_path / "viz.log", "w")
    viz = subprocess.Popen(_evs() + ["viz", "--outputs", str(out), "--port", str(port)], cwd=tmp_path,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert viz.poll() is None, (tmp_path / "viz.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "evs viz not ready"
            time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 2000})
                for sid, width, gold, caption in (("s0", 40, "A", None), ("s1", 24, "B", None),
                                                  ("s2", None, "A", "image 1: image not found")):
                    tb._open(page, f"http://127.0.0.1:{port}", "samples", run=run.name, model="vlm-model",
                             dataset="mmmu", sample=f"{sid}#0")
                    page.get_by_text(f"Sample {sid}").first.wait_for(timeout=60_000)
                    main = page.locator("[data-testid='stMain']")
                    if width is not None:
                        im = main.locator("[data-testid='stImage'] img").first
                        im.wait_for(state="attached", timeout=60_000)
                        im.scroll_into_view_if_needed(timeout=60_000)
                        page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=im.element_handle(),
                                               timeout=90_000)
                        assert im.evaluate("el => el.naturalWidth") == width
                    else:
                        page.get_by_text(caption).first.wait_for(timeout=30_000)
                        assert main.locator("[data-testid='stImage']").count() == 0
                    body = main.inner_text()
                    assert f"Gold answer: {gold}" in body.replace("`", ""), body
                    assert "ANSWER:" in body
                    assert "base64" not in body
            finally:
                browser.close()
    finally:
        _stop(viz)
        log.close()
