"""evs-vlm's benchmarks through `evs eval` (evs-native's engine): a bad image fails its sample alone,
inline images are stored once per run, and resume asks only the failed sample again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("evs_vlm", reason="evs-vlm is installed by tools/dev-install.sh")
pytest.importorskip("evs_native", reason="evs-native is installed by tools/dev-install.sh")

from evs_core.testing import FakeOpenAIServer  # noqa: E402

EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]
LETTERS = {"red": "A", "green": "B", "blue": "C"}
RGB = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220)}


def png(color):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), RGB[color]).save(buf, format="PNG")
    return buf.getvalue()


def responder(body):
    import base64
    import io

    from PIL import Image

    user = [m for m in body["messages"] if m["role"] == "user"][-1]
    url = next(p["image_url"]["url"] for p in user["content"] if p["type"] == "image_url")
    px = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB").getpixel((4, 4))
    color = min(RGB, key=lambda c: sum((a - b) ** 2 for a, b in zip(RGB[c], px, strict=True)))
    return f"ANSWER: {LETTERS[color]}"


def evs(*args, timeout=120):
    return subprocess.run(EVS + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_eval_images_errors_media_and_resume(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "data"
    vm = data / "general_vmcq"
    vm.mkdir(parents=True)
    (vm / "red.png").write_bytes(png("red"))
    (vm / "broken.png").write_bytes(b"GIF89a not really")
    rows = [{"id": "ok", "question": "<image 1> Colour?", "options": ["red", "green", "blue"], "answer": "A",
             "image_1": "red.png"},
            {"id": "missing", "question": "<image 1> Colour?", "options": ["red", "green", "blue"], "answer": "B",
             "image_1": "green.png"},
            {"id": "broken", "question": "<image 1> Colour?", "options": ["red", "green", "blue"], "answer": "A",
             "image_1": "broken.png"}]
    (vm / "colours.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    mmmu = [{"id": f"validation_Art_{i}", "question": "<image 1> Colour?", "options": "['red', 'green', 'blue']",
             "answer": a, "image_1": {"bytes": png("blue"), "path": None}, "question_type": "multiple-choice",
             "subfield": "", "img_type": "", "topic_difficulty": "", "explanation": ""}
            for i, a in enumerate("CCA")]
    (data / "mmmu" / "Art").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(mmmu), data / "mmmu" / "Art" / "validation-00000-of-00001.parquet")
    work = tmp_path / "out"
    with FakeOpenAIServer(responder) as srv:
        args = ["eval", "--model", "fake", "--api-url", srv.url, "--datasets", "general_vmcq", "mmmu",
                "--dataset-dir", str(data), "--dataset-args", '{"mmmu": {"subset_list": ["Art"]}}',
                "--work-dir", str(work), "--no-progress", "--retries", "0"]
        run = evs(*args)
        assert run.returncode == 0, run.stderr
        assert len(srv.requests) == 4  # the two bad images never reached the server
        (run_dir,) = work.iterdir()
        rep = json.loads((run_dir / "reports" / "fake" / "general_vmcq.json").read_text())
        assert rep["num_samples"] == 3 and rep["num_errors"] == 2 and rep["errors"] == {"ImageError": 2}
        assert rep["score"] == 1.0 and rep["num"] == 1
        log = (run_dir / "logs" / "eval_log.log").read_text()
        assert "general_vmcq colours_missing: ImageError: image 1: image file not found:" in log
        assert "general_vmcq colours_broken: ImageError: image 1: cannot decode image" in log
        mrep = json.loads((run_dir / "reports" / "fake" / "mmmu.json").read_text())
        assert mrep["score"] == pytest.approx(2 / 3)
        preds = (run_dir / "predictions" / "fake" / "mmmu.jsonl").read_text()
        assert "base64" not in preds and preds.count('"url": "media/') == 3
        assert len(list((run_dir / "media").iterdir())) == 1  # one image, three samples, stored once
        # fix the missing file and resume: only the failed samples are asked again
        (vm / "green.png").write_bytes(png("green"))
        n = len(srv.requests)
        run = evs(*args[:-5], "--use-cache", str(run_dir), "--no-progress", "--retries", "0")
        assert run.returncode == 0, run.stderr
        assert len(srv.requests) == n + 1
        rep = json.loads((run_dir / "reports" / "fake" / "general_vmcq.json").read_text())
        assert rep["num_errors"] == 1 and rep["num"] == 2 and rep["score"] == 1.0


def test_vlm_benchmarks_listed_by_evs_benchmarks():
    out = evs("benchmarks", "list", "--tag", "multimodal", "--json")
    assert out.returncode == 0, out.stderr
    names = {b["name"]: b["plugin"] for b in json.loads(out.stdout)}
    assert {"mmmu", "math_vista", "mm_bench", "mm_star", "ai2d", "chartqa", "docvqa", "infovqa", "ocr_bench",
            "real_world_qa", "pope", "hallusion_bench", "science_qa", "seed_bench_2_plus", "math_vision",
            "general_vmcq", "general_vqa"} <= set(names)
    assert set(names.values()) == {"vlm"}




def test_smollm2_text_model_on_text_rows_and_refusing_images(tmp_path):
    """The offline SmolLM2 model through the vision adapter: text-only rows are answered, the image
    row fails alone with ImageUnsupported."""
    pytest.importorskip("transformers", reason="installed by tools/dev-install.sh")
    from evs_native.local_model import smollm2_folder

    folder = smollm2_folder()
    d = tmp_path / "data" / "general_vqa"
    d.mkdir(parents=True)
    (d / "red.png").write_bytes(png("red"))
    rows = [{"messages": [{"role": "user", "content": "What is the capital of France?"}], "answer": "Paris"},
            {"messages": [{"role": "user", "content": "Name a primary colour."}], "answer": "red"},
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "red.png"}},
                                                       {"type": "text", "text": "Colour?"}]}], "answer": "red"}]
    (d / "mixed.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    run = evs("eval", "--model", str(folder), "--model-type", "transformers_vlm", "--datasets", "general_vqa",
              "--dataset-dir", str(tmp_path / "data"), "--generation-config", '{"max_tokens": 8}',
              "--work-dir", str(tmp_path / "out"), "--no-progress", timeout=300)
    assert run.returncode == 0, run.stderr
    (report,) = (tmp_path / "out").glob("*/reports/*/general_vqa.json")
    rep = json.loads(report.read_text())
    assert rep["num"] == 2 and rep["num_errors"] == 1 and rep["errors"] == {"ImageUnsupported": 1}
    (preds,) = (tmp_path / "out").glob("*/predictions/*/general_vqa.jsonl")
    outs = [json.loads(x)["output"] for x in preds.read_text().splitlines()]
    assert sum(bool(o["text"]) and o["error"] is None for o in outs) == 2
