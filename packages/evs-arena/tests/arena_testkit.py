"""Fake models of known answer quality and a fake judge with a known preference rule, on 127.0.0.1.

Model ``m`` answers prompt ``i`` with quality ``QUALITY[m](i)``; the judge reads the quality of
the answers in positions A and B and returns ``[[A>>B]]`` for a gap of 2 or more, ``[[A>B]]``
for 1, ``[[A=B]]`` for 0 (and the mirror images), so every expected figure can be computed
from the table below, independently of evs-arena.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from evs_core.testing import FakeOpenAIServer, last_user_text

N_PROMPTS = 12
QUALITY = {
    "strong": lambda i: 3 + (i % 2),
    "mid": lambda i: 2 + (i % 3 == 0),
    "weak": lambda i: 1 + 2 * (i % 4 == 0),
}
GARBLED = "prompt 7"  # the judge never gives a verdict on this prompt


def prompt_text(i: int) -> str:
    return f"Question number {i}: explain topic {i}. (prompt {i})"


def index_of(prompt: str) -> int:
    return int(re.search(r"\(prompt (\d+)\)", prompt).group(1))


def answer_text(name: str, i: int) -> str:
    """Model ``name``'s answer to prompt ``i``: its quality, and a length and markdown of its own."""
    extra = " more detail" * (len(name) + i % 3) + ("\n- a **point**" if name == "strong" and i % 2 else "")
    return f"Answer of {name} to {i}. quality={QUALITY[name](i)}{extra}"


def model_responder(name: str):
    def respond(body):
        return answer_text(name, index_of(last_user_text(body)))
    return respond


def rule_label(qa: int, qb: int) -> str:
    d = qa - qb
    return "A>>B" if d >= 2 else "A>B" if d == 1 else "A=B" if d == 0 else "B>A" if d == -1 else "B>>A"


def judge_responder(body):
    text = last_user_text(body)
    if GARBLED in text:
        return "Both answers have merit; I cannot decide."
    a = re.search(r"Assistant A's Answer\|>\n(.*?)\n<\|The End of Assistant A", text, re.S).group(1)
    b = re.search(r"Assistant B's Answer\|>\n(.*?)\n<\|The End of Assistant B", text, re.S).group(1)
    qa = int(re.search(r"quality=(\d+)", a).group(1))
    qb = int(re.search(r"quality=(\d+)", b).group(1))
    return f"Let me compare. A has {qa}, B has {qb}.\n\nMy final verdict is: [[{rule_label(qa, qb)}]]"


def expected_share(m1: str, m2: str, prompts=range(N_PROMPTS), strong_weight: int = 3, skip_garbled=True) -> float:
    """m1's weighted score against m2 over both positions, by the judge's rule (ties = half)."""
    wsum = ssum = 0.0
    for i in prompts:
        if skip_garbled and f"(prompt {i})" == "(" + GARBLED + ")":
            continue
        for qa, qb, m1_is_a in ((QUALITY[m1](i), QUALITY[m2](i), True), (QUALITY[m2](i), QUALITY[m1](i), False)):
            label = rule_label(qa, qb)
            w = strong_weight if ">>" in label else 1
            if label == "A=B":
                y = 0.5
            else:
                a_wins = label.startswith("A")
                y = 1.0 if a_wins == m1_is_a else 0.0
            wsum += w
            ssum += w * y
    return ssum / wsum


def make_servers():
    srvs = {name: FakeOpenAIServer(model_responder(name), model=name).start() for name in QUALITY}
    judge = FakeOpenAIServer(judge_responder, model="judge").start()
    return srvs, judge


def judge_args(judge) -> str:
    return json.dumps({"model": "judge", "api_url": judge.url, "api_key": "sk-secret-judge-key"})


def write_prompts(path: Path, n: int = N_PROMPTS) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"q{i}", "prompt": prompt_text(i), "category": "even" if i % 2 == 0 else "odd"}) + "\n")
    return path


def write_eval_run(run: Path, model: str, answers: dict[tuple[str, str, str], str], errors=()) -> Path:
    """A run folder in the documented `evs eval` layout (docs/output-format.md), via evs_core.schema."""
    from evs_core.schema import ModelOutput, Prediction

    by_ds: dict[str, list[str]] = {}
    for (ds, subset, sid), text in answers.items():
        out = ModelOutput(error="HTTP 500: boom") if sid in errors else ModelOutput(text=text)
        pred = Prediction(sample_id=sid, subset=subset, output=out,
                          request={"kind": "generate", "messages": [{"role": "user", "content": prompt_text(int(sid[1:]))}]})
        by_ds.setdefault(ds, []).append(pred.model_dump_json())
    for ds, lines in by_ds.items():
        p = run / "predictions" / model / f"{ds}.jsonl"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (run / "configs").mkdir(parents=True, exist_ok=True)
    (run / "configs" / "task_config.yaml").write_text(f"model: {model}\n", encoding="utf-8")
    return run


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from evs_cli.main import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
