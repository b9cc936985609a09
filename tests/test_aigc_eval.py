"""evs-aigc through `evs eval` (evs-native's engine): a tiny diffusers text-to-image pipeline built
offline generates the images of general_t2i and tifa160 (local rows in the hub schema), which are
written into the run folder, referenced from the predictions and scored; a run killed with SIGKILL
resumes without making its finished images again; an OpenAI-compatible images server and an
image-edit benchmark judged by a VLM; bad input stops with one line or fails one sample."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("evs_aigc", reason="evs-aigc is installed by tools/dev-install.sh")
pytest.importorskip("evs_native", reason="evs-native is installed by tools/dev-install.sh")
pytest.importorskip("diffusers", reason="evs-aigc[diffusers] is installed by tools/dev-install.sh")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packages" / "evs-aigc" / "tests"))

from aigc_models import tiny_clip, tiny_pix2pix_pipeline, tiny_sd_pipeline, tiny_unconditional_pipeline  # noqa: E402
from aigc_tiny import ClipFeaturesAsTensors  # noqa: E402
from evs_core.testing import FakeOpenAIServer  # noqa: E402
from PIL import Image  # noqa: E402

EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]
GEN = {"height": 32, "width": 32, "num_inference_steps": 2, "batch_size": 2, "seed": 7}


def evs(*args, timeout=240, cwd=None):
    return subprocess.run(EVS + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def jl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def run_dir_of(work: Path) -> Path:
    runs = sorted(p for p in work.iterdir() if p.is_dir())
    assert len(runs) == 1, runs
    return runs[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("aigc_models")
    return {"pipe": tiny_sd_pipeline(root / "pipe"), "clip": tiny_clip(root / "clip", seed=3),
            "ddpm": tiny_unconditional_pipeline(root / "ddpm"), "p2p": tiny_pix2pix_pipeline(root / "p2p")}


def clip_args(models, name, **extra):
    return {name: {"metric_list": ["clip_score"], "metric_args": {"clip_score": {"weights": str(models["clip"])}},
                   **extra}}


def reference_clip_scores(models, images, prompts):
    """torchmetrics' CLIPScore of each image (the reference package, not evs's code)."""
    import torch
    from torchmetrics.functional.multimodal import clip_score
    from transformers import CLIPModel, CLIPProcessor

    model, proc = CLIPModel.from_pretrained(models["clip"]).eval(), CLIPProcessor.from_pretrained(models["clip"])
    return [float(clip_score(torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1), p,
                             model_name_or_path=lambda: (ClipFeaturesAsTensors(model), proc))) for im, p in zip(images, prompts, strict=True)]


PROMPTS = [{"id": "p1", "prompt": "a red cube on a table"}, {"id": "p2", "prompt": "a cat in the snow"},
           {"id": "p3", "prompt": "two green apples"}]
TIFA_ROWS = [{"id": "TIFA160_0", "prompt": "A Christmas tree with lights and teddy bear", "tags": {}, "image_path": ""},
             {"id": "TIFA160_1", "prompt": "a blue bird on a branch", "tags": {}, "image_path": ""}]


def test_tiny_pipeline_generates_scores_and_references_images(tmp_path, models):
    import torch
    from diffusers import DiffusionPipeline

    prompts = tmp_path / "my_prompts.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in PROMPTS))
    data = tmp_path / "data" / "tifa160" / "TIFA-160"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in TIFA_ROWS))
    work = tmp_path / "out"
    args = {**clip_args(models, "general_t2i", local_path=str(prompts)), **clip_args(models, "tifa160")}
    r = evs("eval", "--datasets", "general_t2i", "tifa160", "--model", models["pipe"], "--model-args", json.dumps(GEN),
            "--dataset-dir", tmp_path / "data", "--dataset-args", json.dumps(args), "--work-dir", work, "--no-progress")
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-2000:]
    run = run_dir_of(work)
    pipe = DiffusionPipeline.from_pretrained(models["pipe"])
    pipe.set_progress_bar_config(disable=True)
    for name, rows, subset in (("general_t2i", PROMPTS, "my_prompts"), ("tifa160", TIFA_ROWS, "TIFA-160")):
        preds = {p["sample_id"]: p for p in jl(run / "predictions" / "pipe" / f"{name}.jsonl")}
        reviews = {x["sample_id"]: x for x in jl(run / "reviews" / "pipe" / f"{name}.jsonl")}
        assert set(preds) == {row["id"] for row in rows}
        images, texts = [], []
        for row in rows:
            p = preds[row["id"]]
            assert p["subset"] == subset and p["request"]["prompt"] == row["prompt"]
            rel = p["output"]["text"]
            assert rel.startswith(f"images/pipe/{name}/{row['id']}-") and rel.endswith(".png")
            img = Image.open(run / rel).convert("RGB")
            assert img.size == (32, 32)
            # the same image as calling the pipeline directly with the same arguments and seed
            direct = pipe(prompt=[row["prompt"]], height=32, width=32, num_inference_steps=2,
                          generator=[torch.Generator("cpu").manual_seed(7)]).images[0]
            diff = np.abs(np.asarray(direct, dtype=int) - np.asarray(img, dtype=int))
            assert diff.max() <= 1, diff.max()
            images.append(img)
            texts.append(row["prompt"])
            assert reviews[row["id"]]["metadata"]["image"] == rel
        expected = reference_clip_scores(models, images, texts)
        got = [reviews[row["id"]]["scores"]["clip_score"] for row in rows]
        assert got == pytest.approx(expected, abs=1e-4)
        rep = json.loads((run / "reports" / "pipe" / f"{name}.json").read_text())
        assert rep["metric"] == "clip_score" and rep["num_errors"] == 0
        assert rep["score"] == pytest.approx(sum(expected) / len(expected), abs=1e-4)


def test_kill_9_then_resume_does_not_regenerate(tmp_path, models):
    n = 10
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"s{i}", "prompt": f"prompt number {i} of a scene"}) + "\n"
                               for i in range(n)))
    work = tmp_path / "out"
    gen = {**GEN, "batch_size": 1, "num_inference_steps": 12}
    base = ["eval", "--datasets", "general_t2i", "--model", models["pipe"], "--model-args", json.dumps(gen),
            "--dataset-args", json.dumps(clip_args(models, "general_t2i", local_path=str(prompts))), "--no-progress"]
    proc = subprocess.Popen(EVS + [str(a) for a in base + ["--work-dir", work]], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 180
        while True:
            pngs = list(work.glob("*/images/pipe/general_t2i/*.png"))
            if len(pngs) >= 3 or proc.poll() is not None:
                break
            assert time.monotonic() < deadline, "no images appeared"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        killed_at = time.time()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    run = run_dir_of(work)
    before = {p.name: p.stat().st_mtime_ns for p in (run / "images" / "pipe" / "general_t2i").glob("*.png")}
    assert 3 <= len(before) < n
    pred_file, rev_file = (run / k / "pipe" / "general_t2i.jsonl" for k in ("predictions", "reviews"))
    first = [p["sample_id"] for p in jl(pred_file)]
    assert first, "the kill came before any prediction was written"
    # also drop the last finished unit's lines, as if the kill had come between its image and its lines
    for f in (pred_file, rev_file):
        lines = [x for x in f.read_text().splitlines() if x.strip() and json.loads(x)["sample_id"] != first[-1]]
        f.write_text("".join(x + "\n" for x in lines))
    first = set(first[:-1])
    r = evs(*base, "--use-cache", run)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Resuming" in r.stdout + r.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (run / "images" / "pipe" / "general_t2i").glob("*.png")}
    assert len(after) == n
    for name, mtime in before.items():
        assert after[name] == mtime, f"{name} was written again"
    preds = {p["sample_id"]: p for p in jl(run / "predictions" / "pipe" / "general_t2i.jsonl")}
    assert len(preds) == n
    resumed = [p for p in preds.values() if p["time"] > killed_at]
    assert {p["sample_id"] for p in resumed} == set(preds) - first
    for p in resumed:  # an image made before the kill is reused; only the missing ones are generated
        name = Path(p["output"]["text"]).name
        assert p["output"]["finish_reason"] == ("reused" if name in before else "generated"), p
    assert len([p for p in resumed if p["output"]["finish_reason"] == "generated"]) == n - len(before)
    assert any(p["output"]["finish_reason"] == "reused" for p in resumed)
    rep = json.loads((run / "reports" / "pipe" / "general_t2i.json").read_text())
    assert rep["num"] == n and rep["num_errors"] == 0


# -- bad input -------------------------------------------------------------------------------------------
def _one_error_line(r) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def test_bad_input_stops_with_one_line(tmp_path, models):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "x"}\n')
    common = ["eval", "--datasets", "general_t2i", "--model-args", json.dumps(GEN), "--no-progress"]
    # a missing weights folder: before any image is made or any file written
    bad = {"general_t2i": {"local_path": str(prompts), "metric_list": ["clip_score"],
                           "metric_args": {"clip_score": {"weights": str(tmp_path / "no_clip")}}}}
    r = evs(*common, "--model", models["pipe"], "--dataset-args", json.dumps(bad), "--work-dir", tmp_path / "o1")
    assert "weights for metric 'clip_score' not found" in _one_error_line(r)
    assert not (tmp_path / "o1").exists()
    # a prompt file missing a field
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "text": "no prompt here"}\n')
    r = evs(*common, "--model", models["pipe"], "--work-dir", tmp_path / "o2",
            "--dataset-args", json.dumps(clip_args(models, "general_t2i", local_path=str(broken))))
    line = _one_error_line(r)
    assert "row 2 has no field 'prompt'" in line and "broken.jsonl" in line
    # a pipeline that is not text-to-image
    r = evs(*common, "--model", models["ddpm"], "--work-dir", tmp_path / "o3",
            "--dataset-args", json.dumps(clip_args(models, "general_t2i", local_path=str(prompts))))
    assert "DDPMPipeline, which is not a text-to-image pipeline" in _one_error_line(r)
    # a folder that does not exist, as a diffusers pipeline
    r = evs(*common, "--model", tmp_path / "nowhere", "--model-type", "diffusers", "--work-dir", tmp_path / "o4",
            "--dataset-args", json.dumps(clip_args(models, "general_t2i", local_path=str(prompts))))
    assert "diffusers pipeline folder not found" in _one_error_line(r)


def test_corrupt_image_fails_its_sample_and_the_run_goes_on(tmp_path, models):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for sid in ("a", "c"):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(imgs / f"{sid}.png")
    (imgs / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": s, "prompt": f"image {s}"}) + "\n" for s in ("a", "b", "c", "d")))
    r = evs("eval", "--datasets", "general_t2i", "--model", imgs, "--model-type", "image_folder", "--no-progress",
            "--dataset-args", json.dumps(clip_args(models, "general_t2i", local_path=str(prompts))),
            "--work-dir", tmp_path / "out")
    assert r.returncode == 0, r.stderr[-2000:]
    run = run_dir_of(tmp_path / "out")
    rep = json.loads((run / "reports" / "imgs" / "general_t2i.json").read_text())
    assert rep["num"] == 2 and rep["num_errors"] == 2
    assert rep["errors"] == {"ImageError": 1, "ImageNotFound": 1}
    reviews = {x["sample_id"]: x for x in jl(run / "reviews" / "imgs" / "general_t2i.jsonl")}
    expected = reference_clip_scores(models, [Image.open(imgs / "a.png"), Image.open(imgs / "c.png")],
                                     ["image a", "image c"])
    assert [reviews["a"]["scores"]["clip_score"], reviews["c"]["scores"]["clip_score"]] == pytest.approx(expected, abs=1e-4)


# -- an OpenAI-compatible images server ------------------------------------------------------------------
def _color(text: str) -> tuple[int, int, int]:
    h = hashlib.sha256(text.encode()).digest()
    return h[0], h[1], h[2]


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class ImagesServer:
    """``/v1/images/generations``: a solid image whose colour is a hash of the prompt;
    ``/v1/images/edits``: the uploaded image inverted. Records each request's headers and fields."""

    def __init__(self) -> None:
        self.seen: list[dict] = []

    def __enter__(self):
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"data": []}')

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v1/images/generations":
                    req = json.loads(body)
                    outer.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **req})
                    w, h = (int(v) for v in req.get("size", "16x16").split("x"))
                    img = Image.new("RGB", (w, h), _color(req["prompt"]))
                elif self.path == "/v1/images/edits":
                    import email.parser
                    import email.policy

                    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                        b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
                    fields = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                              for p in msg.iter_parts()}
                    outer.seen.append({"path": self.path, "prompt": fields["prompt"].decode()})
                    src = Image.open(io.BytesIO(fields["image"])).convert("RGB")
                    img = Image.fromarray(255 - np.asarray(src))
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                out = json.dumps({"created": 0, "data": [{"b64_json": base64.b64encode(_png(img)).decode()}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_openai_images_endpoint_with_psnr_ssim_references(tmp_path):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    refs = tmp_path / "refs"
    refs.mkdir()
    rows = []
    for i, p in enumerate(["a lighthouse", "a bowl of soup", "a mountain lake"]):
        ref = Image.new("RGB", (16, 16), (90 + 40 * i, 100, 120))
        ref.save(refs / f"r{i}.png")
        rows.append({"id": f"q{i}", "prompt": p, "reference_image_path": f"refs/r{i}.png"})
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with ImagesServer() as srv:
        r = evs("eval", "--datasets", "general_t2i", "--model", "img-model", "--model-type", "openai_images",
                "--api-url", srv.url, "--api-key", "sk-secret-aigc-123", "--model-args", '{"size": "16x16"}',
                "--dataset-args", json.dumps({"general_t2i": {"local_path": str(prompts), "metric_list": ["PSNR", "ssim"]}}),
                "--work-dir", tmp_path / "out", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(srv.seen) == 3 and all(s["auth"] == "Bearer sk-secret-aigc-123" and s["size"] == "16x16" for s in srv.seen)
    run = run_dir_of(tmp_path / "out")
    reviews = {x["sample_id"]: x for x in jl(run / "reviews" / "img-model" / "general_t2i.jsonl")}
    for i, row in enumerate(rows):
        img = np.asarray(Image.open(run / reviews[row["id"]]["metadata"]["image"]).convert("RGB")) / 255.0
        assert tuple(int(v) for v in (img[0, 0] * 255).round()) == _color(row["prompt"])
        ref = np.asarray(Image.open(refs / f"r{i}.png")) / 255.0
        assert reviews[row["id"]]["scores"]["psnr"] == pytest.approx(peak_signal_noise_ratio(ref, img, data_range=1.0))
        assert reviews[row["id"]]["scores"]["ssim"] == pytest.approx(
            structural_similarity(img, ref, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                  data_range=1.0, channel_axis=-1), abs=1e-9)
    for f in run.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".jsonl", ".yaml", ".log", ".html"):
            assert "sk-secret-aigc-123" not in f.read_text(errors="ignore"), f


def _judge_scores(text: str, n_images: int) -> list[int]:
    h = hashlib.sha256(f"{n_images}:{text}".encode()).digest()
    return [h[0] % 11, h[1] % 11]


def test_gedit_edits_endpoint_and_vlm_judge(tmp_path):
    data = tmp_path / "data" / "gedit"
    (data / "img").mkdir(parents=True)
    rows = []
    for i, (task, lang) in enumerate([("background_change", "en"), ("color_alter", "en"), ("color_alter", "cn"),
                                      ("subject-add", "en")]):
        Image.new("RGB", (16, 16), (30 * i, 60, 200)).save(data / "img" / f"k{i}.png")
        rows.append({"key": f"k{i}", "task_type": task, "instruction": f"make item {i} brighter",
                     "instruction_language": lang, "input_image": f"img/k{i}.png"})
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    judged = []

    def judge(body):
        content = body["messages"][-1]["content"]
        text = next(p["text"] for p in content if p["type"] == "text")
        n = sum(1 for p in content if p["type"] == "image_url")
        judged.append((n, text))
        a, b = _judge_scores(text, n)
        return f'{{"score": [{a}, {b}], "reasoning": "ok"}}'

    with ImagesServer() as srv, FakeOpenAIServer(judge) as jsrv:
        r = evs("eval", "--datasets", "gedit", "--model", "edit-model", "--model-type", "openai_images",
                "--api-url", srv.url, "--dataset-dir", tmp_path / "data",
                "--dataset-args", json.dumps({"gedit": {"subset_list": ["background_change", "color_alter", "subject-add"]}}),
                "--judge-args", json.dumps({"model": "judge", "api_url": jsrv.url}),
                "--work-dir", tmp_path / "out", "--no-progress")
    assert r.returncode == 0, r.stderr[-2000:]
    run = run_dir_of(tmp_path / "out")
    reviews = {x["sample_id"]: x for x in jl(run / "reviews" / "edit-model" / "gedit.jsonl")}
    assert set(reviews) == {"k0", "k1", "k3"}  # the cn instruction is left out (language: en)
    for sid, rev in reviews.items():
        edited = np.asarray(Image.open(run / rev["metadata"]["image"]).convert("RGB"))
        src = np.asarray(Image.open(data / "img" / f"{sid}.png").convert("RGB"))
        assert (edited == 255 - src).all()  # the server's edit of the uploaded image, saved in the run
        instr = rows[int(sid[1])]["instruction"]
        sc_text = next(t for n, t in judged if n == 2 and instr in t)
        assert "Editing instruction: " + instr in sc_text
        pq_text = next(t for n, t in judged if n == 1)
        sc, pq = min(_judge_scores(sc_text, 2)), min(_judge_scores(pq_text, 1))
        assert rev["scores"]["semantic_consistency"] == sc and rev["scores"]["perceptual_similarity"] == pq
        assert rev["scores"]["normalized_score"] == pytest.approx((sc * pq) ** 0.5)
    rep = json.loads((run / "reports" / "edit-model" / "gedit.json").read_text())
    assert rep["metric"] == "normalized_score" and rep["num"] == 3
    assert {s["name"] for s in rep["subsets"]} >= {"background_change", "color_alter", "subject-add"}


def test_gedit_with_a_local_image_edit_pipeline(tmp_path, models):
    """A diffusers InstructPix2Pix folder edits the input images; a text-to-image benchmark on it fails per sample."""
    data = tmp_path / "data" / "gedit"
    (data / "img").mkdir(parents=True)
    rows = [{"key": f"e{i}", "task_type": "style_change", "instruction": f"paint it in style {i}",
             "instruction_language": "en", "input_image": f"img/e{i}.png"} for i in range(2)]
    for i in range(2):
        Image.new("RGB", (32, 32), (200, 40 * i, 10)).save(data / "img" / f"e{i}.png")
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    seen = []

    def judge(body):
        content = body["messages"][-1]["content"]
        n = sum(1 for p in content if p["type"] == "image_url")
        seen.append(n)
        return '{"score": [6, 8], "reasoning": "ok"}' if n == 2 else '{"score": [9, 7], "reasoning": "ok"}'

    with FakeOpenAIServer(judge) as jsrv:
        r = evs("eval", "--datasets", "gedit", "--model", models["p2p"], "--dataset-dir", tmp_path / "data",
                "--model-args", json.dumps({"num_inference_steps": 2, "guidance_scale": 1.0}),
                "--dataset-args", json.dumps({"gedit": {"subset_list": ["style_change"]}}),
                "--judge-args", json.dumps({"model": "judge", "api_url": jsrv.url}),
                "--work-dir", tmp_path / "out", "--no-progress")
    assert r.returncode == 0, r.stderr[-2000:]
    run = run_dir_of(tmp_path / "out")
    reviews = {x["sample_id"]: x for x in jl(run / "reviews" / "p2p" / "gedit.jsonl")}
    assert set(reviews) == {"e0", "e1"} and sorted(seen) == [1, 1, 2, 2]
    for rev in reviews.values():
        assert Image.open(run / rev["metadata"]["image"]).size == (32, 32)
        assert rev["scores"] == {"semantic_consistency": 6.0, "perceptual_similarity": 7.0,
                                 "normalized_score": pytest.approx(42 ** 0.5)}
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "x"}\n')
    r = evs("eval", "--datasets", "general_t2i", "--model", models["p2p"], "--no-progress", "--work-dir", tmp_path / "o2",
            "--model-args", '{"num_inference_steps": 2}',
            "--dataset-args", json.dumps(clip_args(models, "general_t2i", local_path=str(prompts))))
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads(next((tmp_path / "o2").glob("*/reports/p2p/general_t2i.json")).read_text())
    assert rep["num"] == 0 and rep["errors"] == {"UnsupportedRequest": 1}
