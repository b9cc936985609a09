"""The `evs viz` gallery over real `evs eval` runs of a tiny diffusers pipeline: for each prompt the
image of each model side by side, with its metric values, in Debian's Chromium."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("evs_aigc", reason="evs-aigc is installed by tools/dev-install.sh")
pytest.importorskip("evs_native", reason="evs-native is installed by tools/dev-install.sh")
pytest.importorskip("evs_viz", reason="evs-viz is installed by tools/dev-install.sh")
pytest.importorskip("diffusers", reason="evs-aigc[diffusers] is installed by tools/dev-install.sh")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "packages" / "evs-aigc" / "tests"))

from aigc_models import tiny_clip, tiny_sd_pipeline  # noqa: E402

EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]
PROMPTS = [{"id": "g1", "prompt": "a yellow kite over the sea"}, {"id": "g2", "prompt": "an old red tractor"},
           {"id": "g3", "prompt": "three cups of tea"}]


def _browser_helpers():
    spec = importlib.util.spec_from_file_location("_viz_browser", REPO / "packages" / "evs-viz" / "tests" / "test_browser.py")
    tb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tb)
    return tb


def test_gallery_unit_rows(two_runs):
    """The data side: rows per sample, one cell per model, images read inside the run folder only."""
    from evs_viz import data as D

    out = two_runs
    found = D.image_entries(D.discover(out), out)
    assert sorted(e.model_name for _, e in found) == ["model-a", "model-b"]
    rows = D.gallery_rows([(e.model_name, e) for _, e in found], out)
    assert [r["sample_id"] for r in rows] == ["g1", "g2", "g3"]
    assert [r["prompt"] for r in rows] == [p["prompt"] for p in PROMPTS]
    for r in rows:
        for cell in r["cells"].values():
            data, why = D.read_image(cell["image"], cell["run_dir"])
            assert data is not None and data.startswith(b"\x89PNG"), why
            assert "clip_score" in cell["scores"]
    assert D.gallery_rows([(e.model_name, e) for _, e in found], out, "tractor")[0]["sample_id"] == "g2"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    """Two `evs eval` runs of the same tiny pipeline under two model names and seeds."""
    tmp_path = tmp_path_factory.mktemp("gallery")
    models = tmp_path / "models"
    pipe, clip = tiny_sd_pipeline(models / "pipe"), tiny_clip(models / "clip", seed=3)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in PROMPTS))
    out = tmp_path / "outputs"
    for name, seed in (("model-a", 1), ("model-b", 2)):
        args = {"general_t2i": {"local_path": str(prompts), "metric_list": ["clip_score"],
                                "metric_args": {"clip_score": {"weights": str(clip)}}}}
        r = subprocess.run(EVS + ["eval", "--datasets", "general_t2i", "--model", str(pipe), "--model-id", name,
                                  "--model-args", json.dumps({"height": 32, "width": 32, "num_inference_steps": 2,
                                                              "seed": seed}),
                                  "--dataset-args", json.dumps(args), "--work-dir", str(out / name), "--no-progress"],
                           capture_output=True, text=True, timeout=240, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.mark.browser
def test_gallery_page_shows_images_side_by_side(tmp_path, two_runs):
    tb = _browser_helpers()
    tb._need(tb.CHROMIUM.exists(), "Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")
    from playwright.sync_api import sync_playwright

    out = two_runs
    port = tb._free_port()
    log = open(tmp_path / "viz.log", "w")
    viz = subprocess.Popen(tb._evs() + ["viz", "--outputs", str(out), "--port", str(port)], cwd=tmp_path,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + tb.READY_TIMEOUT_S
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
            browser = p.chromium.launch(executable_path=str(tb.CHROMIUM), args=tb.CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 2400})
                tb._open(page, f"http://127.0.0.1:{port}", "gallery", dataset="general_t2i")
                main = page.locator("[data-testid='stMain']")
                page.get_by_text("3 samples · 2 model(s)").first.wait_for(timeout=60_000)
                imgs = main.locator("[data-testid='stImage'] img")
                deadline = time.monotonic() + 90
                while imgs.count() < 6:
                    assert time.monotonic() < deadline, f"{imgs.count()} images shown"
                    time.sleep(0.3)
                for i in range(6):
                    im = imgs.nth(i)
                    im.scroll_into_view_if_needed(timeout=60_000)
                    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=im.element_handle(),
                                           timeout=90_000)
                    assert im.evaluate("el => el.naturalWidth") == 32
                body = main.inner_text()
                for row in PROMPTS:
                    assert row["prompt"] in body
                assert body.count("clip_score = ") == 6
                assert "model-a" in body and "model-b" in body
                tb.ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(tb.ARTIFACTS / "aigc_gallery.png"), full_page=True)
            finally:
                browser.close()
    finally:
        tb._stop(viz)
        log.close()
