"""Cross-package: `evs arena --runs` on folders written by a real `evs eval` (general_qa on local
files) against fake OpenAI-compatible models, judged by a fake judge with a known rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("evs_native", reason="needs evs-native for `evs eval`")
pytest.importorskip("evs_arena", reason="needs evs-arena for `evs arena`")

from evs_core.testing import FakeOpenAIServer, last_user_text  # noqa: E402

N = 10
QUALITY = {"good": lambda i: 3, "fair": lambda i: 2 + (i % 3 == 0), "poor": lambda i: 1 + (i % 2)}


def _main(args, capsys):
    from evs_cli.main import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _judge(body):
    text = last_user_text(body)
    qa, qb = (int(x) for x in re.findall(r"quality=(\d+)", text)[:2])
    d = qa - qb
    label = "A>>B" if d >= 2 else "A>B" if d == 1 else "A=B" if d == 0 else "B>A" if d == -1 else "B>>A"
    return f"Comparing. [[{label}]]"


def _share(m, base):
    """m's weighted score against base over both positions (strong = 3, tie = half)."""
    w = s = 0.0
    for i in range(N):
        d = QUALITY[m](i) - QUALITY[base](i)
        weight = 3 if abs(d) >= 2 else 1
        y = 0.5 if d == 0 else 1.0 if d > 0 else 0.0
        w += 2 * weight
        s += 2 * weight * y
    return s / w


def test_arena_from_real_eval_runs(tmp_path, capsys):
    data = tmp_path / "qa"
    data.mkdir()
    with open(data / "chat.jsonl", "w") as f:
        for i in range(N):
            f.write(json.dumps({"query": f"Question {i}?", "response": "reference"}) + "\n")
    def responder(q):
        def respond(body):
            i = int(re.search(r"Question (\d+)", last_user_text(body)).group(1))
            return f"My answer. quality={q(i)}"
        return respond

    servers = {name: FakeOpenAIServer(responder(q), model=name).start() for name, q in QUALITY.items()}
    judge = FakeOpenAIServer(_judge, model="judge").start()
    try:
        runs = []
        for name, srv in servers.items():
            code, _, err = _main(["eval", "--model", name, "--api-url", srv.url, "--datasets", "general_qa",
                                  "--dataset-args", json.dumps({"general_qa": {"local_path": str(data)}}),
                                  "--work-dir", str(tmp_path / "evals" / name), "--no-progress"], capsys)
            assert code == 0, err
            runs.append(next((tmp_path / "evals" / name).iterdir()))
        code, out, err = _main(["arena", "--runs", *map(str, runs), "--baseline", "fair", "--judge-args",
                                json.dumps({"model": "judge", "api_url": judge.url}), "--work-dir",
                                str(tmp_path / "arena"), "--bootstrap-rounds", "20"], capsys)
        assert code == 0, err
    finally:
        for s in [*servers.values(), judge]:
            s.stop()
    run = Path(err.strip().splitlines()[-1].split("results: ", 1)[1])
    board = json.loads((run / "leaderboard.json").read_text())
    rows = {d["model"]: d for d in board["overall"]["models"]}
    assert [d["model"] for d in board["overall"]["models"]] == ["good", "fair", "poor"]
    for m in ("good", "poor"):
        assert rows[m]["win_rate"] == pytest.approx(_share(m, "fair"), abs=1e-9)
    assert board["judge"]["games"] == 2 * 2 * N and board["judge"]["unparsable"] == 0
    assert set(board["benchmarks"]) == {"general_qa"} and set(board["benchmarks"]["general_qa"]["subsets"]) == {"chat"}
