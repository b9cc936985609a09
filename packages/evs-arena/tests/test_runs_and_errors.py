"""From saved runs, resume, adaptive pairing, and bad input: one line, exit 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from arena_testkit import (
    N_PROMPTS,
    QUALITY,
    answer_text,
    expected_share,
    judge_args,
    run_cli,
    write_eval_run,
    write_prompts,
)


def _answers(model, n=N_PROMPTS, ds="chat"):
    return {(ds, "default", f"q{i}"): answer_text(model, i) for i in range(n)}


def _make_runs(tmp_path, errors=None):
    errors = errors or {}
    return [write_eval_run(tmp_path / f"run_{m}", m, _answers(m), errors=errors.get(m, ())) for m in QUALITY]


def _run_dir(err):
    return Path(err.strip().splitlines()[-1].split("results: ", 1)[1])


def _sklearn_bt(lines, models, baseline):
    """Reference three-model fit (scikit-learn, EvalScope's construction) for the e2e check."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_ratings import evalscope_reference

    return evalscope_reference(lines, baseline, models=models)


def test_round_robin_from_saved_runs(servers, tmp_path, capsys):
    srvs, judge = servers
    runs = _make_runs(tmp_path, errors={"weak": {"q3"}})
    work = tmp_path / "out"
    code, out, err = run_cli(["arena", "--runs", *map(str, runs), "--baseline", "mid", "--pairing", "round_robin",
                              "--judge-args", judge_args(judge), "--work-dir", str(work), "--bootstrap-rounds", "30",
                              "--style-control"], capsys)
    assert code == 0, err
    run = _run_dir(err)
    board = json.loads((run / "leaderboard.json").read_text())
    shared = [i for i in range(N_PROMPTS) if i != 3]  # weak failed q3: not shared, not judged
    lines = [json.loads(x) for x in (run / "battles.jsonl").read_text().splitlines()]
    assert len(lines) == 3 * 2 * len(shared) and not any(ln["sample_id"] == "q3" for ln in lines)
    assert len(judge.requests) == len(lines)
    pw = board["overall"]["pairwise"]
    for a in QUALITY:
        for b in QUALITY:
            if a != b:
                assert pw[a][b]["score"] == pytest.approx(expected_share(a, b, shared), abs=1e-12)
    ref = _sklearn_bt(lines, list(QUALITY), "mid")
    got = {d["model"]: d["rating"] for d in board["overall"]["models"]}
    assert all(got[m] == pytest.approx(ref[m], abs=1e-6) for m in QUALITY)
    assert [d["model"] for d in board["overall"]["models"]] == ["strong", "mid", "weak"]
    assert board["sources"]["weak"]["failed"] == 1
    assert "style_controlled" in board["overall"] and "length" in str(board["overall"]["style_controlled"])
    assert (run / "answers" / "weak.jsonl").is_file()


def test_resume_judges_only_what_is_missing(servers, tmp_path, capsys):
    srvs, judge = servers
    runs = _make_runs(tmp_path)
    base = ["arena", "--runs", *map(str, runs), "--baseline", "mid", "--judge-args", judge_args(judge),
            "--work-dir", str(tmp_path / "out"), "--bootstrap-rounds", "20"]
    code, _, err = run_cli(base, capsys)
    assert code == 0, err
    run = _run_dir(err)
    first = json.loads((run / "leaderboard.json").read_text())
    battles = run / "battles.jsonl"
    lines = battles.read_text().splitlines()
    kept = lines[:-5]
    battles.write_text("\n".join(kept) + "\n" + lines[-5][:30])  # a crash: 5 games lost, one cut line
    n_before = len(judge.requests)
    code, _, err = run_cli(base + ["--use-cache", str(run)], capsys)
    assert code == 0, err
    assert len(judge.requests) - n_before == 5
    again = json.loads((run / "leaderboard.json").read_text())
    assert again["overall"]["models"] == first["overall"]["models"]


def test_adaptive_pairing_stays_within_the_budget_and_ranks_correctly(servers, tmp_path, capsys):
    srvs, judge = servers
    prompts = write_prompts(tmp_path / "prompts.jsonl")
    models = json.dumps([{"name": n, "model": n, "api_url": s.url} for n, s in srvs.items()])
    code, out, err = run_cli(["arena", "--prompts", str(prompts), "--models", models, "--baseline", "mid",
                              "--pairing", "adaptive", "--budget", "40", "--judge-args", judge_args(judge),
                              "--work-dir", str(tmp_path / "out"), "--bootstrap-rounds", "20",
                              "--concurrency", "4"], capsys)
    assert code == 0, err
    board = json.loads((_run_dir(err) / "leaderboard.json").read_text())
    a = board["adaptive"]
    assert a["judge_calls"] <= 40 and len(judge.requests) <= 40 + 1  # +1: the probe game
    assert a["stopped"] in ("budget", "settled", "exhausted")
    assert [d["model"] for d in board["overall"]["models"]][0] == "strong"


def test_adaptive_scheduler_stops_when_settled():
    from evs_arena.pairing import AdaptiveScheduler, Battle

    pool = [Battle(("b", "s", str(i)), m1, m2) for i in range(200) for m1, m2 in (("x", "y"), ("x", "z"), ("y", "z"))]
    sched = AdaptiveScheduler(pool, ["x", "y", "z"], "z", warmup=2, batch=3, seed=1)
    strength = {"x": 2.0, "y": 1.0, "z": 0.0}  # log-10 units: decisive gaps
    rows, n = [], 0
    import random
    rng = random.Random(0)
    while True:
        nxt = sched.next_batch(rows)
        if not nxt:
            break
        for b in nxt:
            for _ in (0, 1):
                p = 1 / (1 + 10 ** (strength[b.model_2] - strength[b.model_1]))
                rows.append({"a": b.model_1, "b": b.model_2, "y": 1.0 if rng.random() < p else 0.0, "weight": 1,
                             "sample": b.key})
                n += 1
    assert sched.stop_reason == "settled"
    assert n < len(pool) * 2 / 4  # far fewer calls than the full round robin


def _no_files(path: Path) -> bool:
    return not path.exists() or not any(p.is_file() for p in path.rglob("*"))


def _bad(args, capsys, tmp_path):
    code, out, err = run_cli(args + ["--work-dir", str(tmp_path / "out")], capsys)
    assert code == 2, (out, err)
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in err
    assert _no_files(tmp_path / "out")
    return lines[0]


def test_bad_inputs_one_line_nothing_written(servers, tmp_path, capsys):
    srvs, judge = servers
    ja = judge_args(judge)
    runs = _make_runs(tmp_path)
    # runs that share no samples
    other = write_eval_run(tmp_path / "other", "other", {("chat", "default", "q99"): "x"})
    msg = _bad(["arena", "--runs", str(runs[0]), str(other), "--judge-args", ja], capsys, tmp_path)
    assert "share no answered samples" in msg and "other" in msg
    # a baseline that is not among the models
    msg = _bad(["arena", "--runs", *map(str, runs), "--baseline", "midd", "--judge-args", ja], capsys, tmp_path)
    assert "baseline 'midd' is not among the models" in msg and "did you mean 'mid'" in msg
    # a missing run folder
    msg = _bad(["arena", "--runs", str(runs[0]), str(tmp_path / "nope"), "--judge-args", ja], capsys, tmp_path)
    assert "run folder not found" in msg and "nope" in msg
    # a folder that is not a run
    (tmp_path / "empty").mkdir()
    msg = _bad(["arena", "--runs", str(runs[0]), str(tmp_path / "empty"), "--judge-args", ja], capsys, tmp_path)
    assert "not an evs eval run folder" in msg
    # a corrupt run file
    bad = write_eval_run(tmp_path / "corrupt", "corrupt", _answers("mid"))
    f = bad / "predictions" / "corrupt" / "chat.jsonl"
    f.write_text(f.read_text() + '{"sample_id": "q99", "outp\n')
    msg = _bad(["arena", "--runs", str(runs[0]), str(bad), "--judge-args", ja], capsys, tmp_path)
    assert "corrupt run file" in msg and "chat.jsonl" in msg and "line 13" in msg
    # a judge that never returns a parsable verdict
    from evs_core.testing import FakeOpenAIServer

    with FakeOpenAIServer(lambda body: "I like both.", model="mute") as mute:
        msg = _bad(["arena", "--runs", *map(str, runs), "--baseline", "mid", "--judge-args",
                    json.dumps({"model": "mute", "api_url": mute.url})], capsys, tmp_path)
        assert "no parsable verdict" in msg and "I like both." in msg
        assert len(mute.requests) == 3
    # a judge that cannot be reached
    msg = _bad(["arena", "--runs", *map(str, runs), "--baseline", "mid", "--judge-args",
                json.dumps({"model": "j", "api_url": "http://127.0.0.1:9/v1", "retries": 0})], capsys, tmp_path)
    assert msg.startswith("Error: judge: cannot reach")
    # config mistakes
    assert "unknown judge key 'modle'" in _bad(["arena", "--runs", *map(str, runs), "--judge-args", '{"modle": "x"}'],
                                                  capsys, tmp_path)
    assert "needs a judge" in _bad(["arena", "--runs", *map(str, runs)], capsys, tmp_path)
    assert "either --runs" in _bad(["arena", "--judge-args", ja], capsys, tmp_path)
    assert "--budget applies to --pairing adaptive" in _bad(["arena", "--runs", *map(str, runs), "--judge-args", ja,
                                                             "--budget", "10"], capsys, tmp_path)
    assert "--adaptive-z applies to --pairing adaptive" in _bad(["arena", "--runs", *map(str, runs), "--judge-args", ja,
                                                                 "--adaptive-z", "3"], capsys, tmp_path)
    assert "--limit applies to live arenas" in _bad(["arena", "--runs", *map(str, runs), "--judge-args", ja,
                                                     "--limit", "3"], capsys, tmp_path)
    prompts = write_prompts(tmp_path / "p.jsonl")
    msg = _bad(["arena", "--prompts", str(prompts), "--models", '[{"name": "a", "model": "a", "api_ulr": "x"}]',
                "--judge-args", ja], capsys, tmp_path)
    assert "unknown key 'api_ulr' in --models[0]" in msg
    msg = _bad(["arena", "--prompts", str(prompts), "--models", '{"a": 1}', "--judge-args", ja], capsys, tmp_path)
    assert "--models must be a JSON list" in msg
    msg = _bad(["arena", "--prompts", str(tmp_path / "none.jsonl"), "--models", '[{"model": "a"}, {"model": "b"}]',
                "--judge-args", ja], capsys, tmp_path)
    assert "prompts file not found" in msg
    msg = _bad(["arena", "--use-cache", str(tmp_path / "nope"), "--runs", *map(str, runs), "--judge-args", ja],
               capsys, tmp_path)
    assert "--use-cache" in msg


def test_a_failing_model_is_recorded_not_fatal(tmp_path, capsys):
    """Live: answers that fail are written with their error and their battles are skipped."""
    from arena_testkit import judge_responder, model_responder
    from evs_core.testing import FakeOpenAIServer

    with FakeOpenAIServer(model_responder("strong")) as s1, \
            FakeOpenAIServer(model_responder("weak"), fail_rate=0.3, seed=4) as s2, \
            FakeOpenAIServer(judge_responder) as judge:
        prompts = write_prompts(tmp_path / "p.jsonl")
        models = json.dumps([{"name": "strong", "model": "s", "api_url": s1.url},
                             {"name": "weak", "model": "w", "api_url": s2.url, "retries": 0}])
        code, out, err = run_cli(["arena", "--prompts", str(prompts), "--models", models, "--baseline", "weak",
                                  "--judge-args", judge_args(judge), "--work-dir", str(tmp_path / "out"),
                                  "--bootstrap-rounds", "10"], capsys)
        assert code == 0, err
        run = _run_dir(err)
        answers = [json.loads(x) for x in (run / "answers" / "weak.jsonl").read_text().splitlines()]
        failed = {a["sample_id"] for a in answers if a["error"]} - {a["sample_id"] for a in answers if not a["error"]}
        assert failed and s2.failures >= len(failed)
        lines = [json.loads(x) for x in (run / "battles.jsonl").read_text().splitlines()]
        assert not {ln["sample_id"] for ln in lines} & failed
        assert len(lines) == 2 * (N_PROMPTS - len(failed))


def test_arena_help_is_import_light():
    code = ("import sys; from evs_cli.main import make_cli; make_cli().main(['arena', '--help'], standalone_mode=False);"
            "bad = [m for m in ('numpy', 'evs_arena.engine', 'evs_arena.ratings') if m in sys.modules];"
            "print('HEAVY', bad) if bad else None")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "HEAVY" not in out.stdout and "--pairing" in out.stdout
