"""Bad input is refused before any request or file write; no secret in any output; streaming;
run folders never collide; the progress line counts the errors the report counts."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from evs_cli.main import main
from evs_core.outputs import new_run_dir
from evs_core.testing import FakeOpenAIServer
from evs_native.engine import run_task

EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]


def _gsm8k_copy(shared_data: Path, root: Path, n: int = 3) -> Path:
    """A --dataset-dir with the first n gsm8k rows (test and train)."""
    for split in ("test", "train"):
        lines = (shared_data / "gsm8k" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
        (root / "gsm8k").mkdir(parents=True, exist_ok=True)
        (root / "gsm8k" / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _evs(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def _setup_bad(case: str, data: Path, tmp: Path) -> tuple[list[str], str]:
    """(extra evs eval arguments, expected message) for one bad input; files go under tmp/in."""
    src = tmp / "in"
    src.mkdir()
    if case == "row_missing_field":
        path = data / "gsm8k" / "test.jsonl"
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        del rows[1]["answer"]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return [], f"{path}: gsm8k row 1: the row has no field 'answer' (fields: question)"
    if case == "data_not_utf8":
        path = data / "gsm8k" / "test.jsonl"
        path.write_bytes(path.read_bytes().replace(b"Janet", b"J\xe9net", 1))
        return [], f"{path}: not UTF-8 text (byte 0xe9"
    if case == "config_not_utf8":
        cfg = src / "task.yaml"
        cfg.write_bytes(b"model: m\n# caf\xe9\n")
        return ["--config", str(cfg)], f"config file {cfg} is not UTF-8 text"
    if case == "openqa_not_utf8":
        qa = src / "qa.jsonl"
        qa.write_bytes(b'{"query": "caf\xe9?", "response": "yes"}\n')
        return ["--datasets", "general_qa", "--dataset-args", json.dumps({"general_qa": {"local_path": str(qa)}})], \
            f"{qa}: not UTF-8 text"
    if case == "work_dir_under_file":
        (src / "afile").write_text("x")
        return ["--work-dir", str(src / "afile" / "runs")], f"--work-dir {src / 'afile' / 'runs'} is under a file"
    if case == "work_dir_is_file":
        (src / "afile").write_text("x")
        return ["--work-dir", str(src / "afile")], "is a file; give a folder"
    if case == "temprature":
        return ["--generation-config", '{"temprature": 0.5}'], "did you mean 'temperature'"
    if case == "max_tokens_lots":
        return ["--generation-config", "max_tokens=lots"], 'generation_config.max_tokens ("lots")'
    if case == "temperature_negative":
        return ["--generation-config", '{"temperature": -1}'], "must be a number >= 0"
    if case == "dataset_args_generation":
        return ["--dataset-args", '{"gsm8k": {"generation_config": {"max_tokenz": 3}}}'], "did you mean 'max_tokens'"
    if case == "use_cache_not_a_run":
        (src / "notes.txt").write_text("mine")
        return ["--use-cache", str(src)], "is not an evs run folder"
    if case == "eval_type_unsupported":
        return ["--eval-type", "text2image"], "evs aigc"
    raise AssertionError(case)


BAD = ["row_missing_field", "data_not_utf8", "config_not_utf8", "openqa_not_utf8", "work_dir_under_file",
       "work_dir_is_file", "temprature", "max_tokens_lots", "temperature_negative", "dataset_args_generation",
       "use_cache_not_a_run", "eval_type_unsupported"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_before_any_request_or_write(case, shared_data, tmp_path, capsys):
    data = _gsm8k_copy(shared_data, tmp_path / "data")
    work = tmp_path / "work"
    extra, message = _setup_bad(case, data, tmp_path)
    before = _tree(tmp_path)
    with FakeOpenAIServer() as srv:
        argv = ["eval", "--model", "m", "--api-url", srv.url, "--datasets", "gsm8k", "--dataset-dir", str(data),
                "--work-dir", str(work), "--no-progress", *extra]
        code, out, err = _evs(argv, capsys)
    assert code == 2, err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert srv.requests == [] and srv.headers == []
    assert _tree(tmp_path) == before and not work.exists()


def _mock_run(data: Path, work: Path, model: str = "mock", **kw) -> Path:
    cfg = {"model": model, "model_type": "mock", "datasets": ["gsm8k"], "dataset_dir": str(data),
           "work_dir": str(work), "no_progress": True, **kw}
    reports = run_task(cfg)
    assert reports["gsm8k"].num == 3
    (run,) = [p for p in work.iterdir() if p.is_dir()]
    return run


def test_use_cache_with_another_model_or_datasets_keeps_the_run(shared_data, tmp_path, capsys):
    data = _gsm8k_copy(shared_data, tmp_path / "data")
    run = _mock_run(data, tmp_path / "work")
    capsys.readouterr()
    before = _tree(run)
    for extra, message in ((["--model", "other"], "is a run of model 'mock', not 'other'"),
                           (["--datasets", "arc"], "is a run of datasets gsm8k, not gsm8k, arc")):
        argv = ["eval", "--model", "mock", "--model-type", "mock", "--datasets", "gsm8k", "--dataset-dir", str(data),
                "--use-cache", str(run), "--no-progress", *extra]
        code, out, err = _evs(argv, capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert _tree(run) == before
    # the same model and datasets resume: nothing to ask again
    code, out, err = _evs(["eval", "--model", "mock", "--model-type", "mock", "--datasets", "gsm8k", "--dataset-dir",
                           str(data), "--use-cache", str(run), "--no-progress"], capsys)
    assert code == 0 and "3 completed, 0 to run" in err


def test_a_300_character_model_name_runs_into_a_short_folder(shared_data, tmp_path):
    data = _gsm8k_copy(shared_data, tmp_path / "data")
    name = "org/" + "m" * 296
    run = _mock_run(data, tmp_path / "work", model=name)
    (folder,) = list((run / "predictions").iterdir())
    assert len(folder.name) <= 120 and folder.name.startswith("org_mmm")
    assert json.loads((run / "reports" / folder.name / "gsm8k.json").read_text())["model"] == name
    assert (run / "reviews" / folder.name / "gsm8k.jsonl").exists()


def test_run_folders_never_collide(tmp_path):
    got: list[Path] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def claim():
        barrier.wait()
        p = new_run_dir(tmp_path)
        with lock:
            got.append(p)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(got) == 8 and len(set(got)) == 8
    assert all((p / "predictions").is_dir() for p in got)


def test_model_id_names_the_report_and_folders(shared_data, tmp_path):
    data = _gsm8k_copy(shared_data, tmp_path / "data")
    run = _mock_run(data, tmp_path / "work", model_id="My Model v2")
    assert json.loads((run / "reports" / "My_Model_v2" / "gsm8k.json").read_text())["model"] == "My Model v2"


def test_no_timestamp_writes_into_work_dir_and_refuses_to_overwrite(shared_data, tmp_path, capsys):
    data = _gsm8k_copy(shared_data, tmp_path / "data")
    work = tmp_path / "work"
    run_task({"model": "mock", "datasets": ["gsm8k"], "dataset_dir": str(data), "work_dir": str(work),
              "no_timestamp": True, "no_progress": True})
    capsys.readouterr()
    assert (work / "reports" / "mock" / "gsm8k.json").exists()
    code, out, err = _evs(["eval", "--model", "mock", "--datasets", "gsm8k", "--dataset-dir", str(data),
                           "--work-dir", str(work), "--no-timestamp"], capsys)
    assert code == 2 and "already holds a run; resume it with --use-cache" in err


def test_stream_true_scores_as_without_and_records_ttft(gold, shared_data, tmp_path):
    with FakeOpenAIServer(gold) as srv:
        cfg = {"model": "m", "api_url": srv.url, "datasets": ["gsm8k"], "limit": 6, "dataset_dir": str(shared_data),
               "no_progress": True, "retries": 0}
        plain = run_task({**cfg, "work_dir": str(tmp_path / "a")})["gsm8k"]
        streamed = run_task({**cfg, "work_dir": str(tmp_path / "b"), "generation_config": {"stream": True}})["gsm8k"]
    assert streamed.num_errors == 0 and streamed.score == plain.score == pytest.approx(gold.expected("gsm8k", 6))
    assert sum(1 for b in srv.requests if b.get("stream") is True) == 6
    (pred_file,) = (tmp_path / "b").glob("*/predictions/m/gsm8k.jsonl")
    preds = [json.loads(x) for x in pred_file.read_text().splitlines()]
    assert len(preds) == 6 and all(p["output"]["ttft_s"] > 0 for p in preds)
    assert all(p["output"]["ttft_s"] <= p["output"]["latency_s"] for p in preds)


def test_progress_counts_judge_failures_as_the_table_does(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps({"query": f"q{i}?", "response": f"a{i}"}) + "\n" for i in range(3)))
    console_out = io.StringIO()
    from rich.console import Console

    with FakeOpenAIServer(lambda body: "no verdict here") as judge:
        reports = run_task({"model": "mock", "datasets": ["general_qa"], "work_dir": str(tmp_path / "w"),
                            "dataset_args": {"general_qa": {"local_path": str(qa)}},
                            "judge": {"model": "j", "api_url": judge.url, "strategy": "llm"}},
                           console=Console(file=console_out, width=200, force_terminal=False))
    rep = reports["general_qa"]
    assert rep.num_errors == 3 and rep.errors == {"JudgeError": 3}
    assert "errors 3" in console_out.getvalue() and "errors 0" not in console_out.getvalue()


SECRET = "sk-evs-planted-0123456789"
HEADER_SECRET = "hdr-planted-abcdef"
XKEY_SECRET = "xkey-planted-9876"
URL_PASSWORD = "urlpw-planted-5555"
JUDGE_SECRET = "judge-planted-4444"


def test_no_secret_in_any_byte_written_or_printed(shared_data, tmp_path):
    """Keys planted in every way; the server echoes the Authorization header in its 401 body."""
    data = _gsm8k_copy(shared_data, tmp_path / "data")
    work = tmp_path / "work"
    printed = []
    with FakeOpenAIServer(echo_auth=True) as srv:
        runs = [
            ["--api-key", SECRET, "--model-args", json.dumps({"headers": {"X-Api-Key": XKEY_SECRET}}),
             "--judge-args", json.dumps({"model": "j", "api_url": srv.url, "api_key": JUDGE_SECRET})],
            ["--model-args", json.dumps({"headers": {"Authorization": f"Bearer {HEADER_SECRET}"}})],
            ["--api-url", srv.url.replace("http://", f"http://alice:{URL_PASSWORD}@")],
        ]
        for extra in runs:
            args = ["eval", "--model", "m", "--api-url", srv.url, "--datasets", "gsm8k", "--dataset-dir", str(data),
                    "--work-dir", str(work), "--retries", "0", "--debug"]
            for i in range(0, len(extra), 2):
                if extra[i] in args:
                    args[args.index(extra[i]) + 1] = extra[i + 1]
                else:
                    args += extra[i:i + 2]
            proc = subprocess.run(EVS + args, capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stderr
            printed.append(proc.stdout + proc.stderr)
    # the server did receive the credentials (so the echo carried them back) …
    sent = json.dumps(srv.headers)
    basic = base64.b64encode(f"alice:{URL_PASSWORD}".encode()).decode()
    assert SECRET in sent and HEADER_SECRET in sent and XKEY_SECRET in sent and basic in sent
    # … and every failed sample was recorded with the server's (echoing) reply
    reports = sorted(work.glob("*/reports/m/gsm8k.json"))
    assert len(reports) == 3 and all(json.loads(p.read_text())["num_errors"] == 3 for p in reports)
    everything = b"".join(_tree(work).values()) + "".join(printed).encode()
    assert b"HTTP 401" in everything
    for secret in (SECRET, HEADER_SECRET, XKEY_SECRET, URL_PASSWORD, JUDGE_SECRET, basic):
        assert secret.encode() not in everything, secret
