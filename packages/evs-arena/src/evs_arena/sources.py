"""Where the answers come from: saved ``evs eval`` runs, or a prompts file for live generation.

A battle needs one prompt and one answer per model for the same (benchmark, subset, sample
id). Saved runs give them from ``predictions/<model>/<dataset>.jsonl`` (first repeat, the
answer text without reasoning); failed predictions have no answer. Every problem with a run
folder is one line naming the folder or file, raised before anything is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError

Key = tuple[str, str, str]  # (benchmark, subset, sample id)


@dataclass
class Item:
    """One prompt and the answers the models gave to it."""

    key: Key
    prompt: str
    messages: list[dict[str, Any]] | None = None
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def benchmark(self) -> str:
        return self.key[0]

    @property
    def subset(self) -> str:
        return self.key[1]

    @property
    def sample_id(self) -> str:
        return self.key[2]


def key_str(key: Key) -> str:
    return json.dumps(list(key), ensure_ascii=False)


def _content_text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return "" if content is None else str(content)


def prompt_of(request: dict[str, Any]) -> str:
    """The user's prompt in a saved request: the last user message, or the completion prompt."""
    msgs = request.get("messages")
    if isinstance(msgs, list):
        for m in reversed(msgs):
            if isinstance(m, dict) and m.get("role") == "user":
                return _content_text(m.get("content"))
    return str(request.get("prompt") or "")


@dataclass
class RunModel:
    name: str  # the model's folder name under predictions/
    run: Path
    answers: dict[Key, str]
    prompts: dict[Key, str]
    failed: int  # predictions with an error (no answer)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvsError(f"cannot read {path}: {exc}") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise EvsError(f"corrupt run file {path}: line {lineno} is not valid JSON "
                           "(finish the eval with `evs eval --use-cache <run>` first)") from None
        if not isinstance(row, dict) or "sample_id" not in row or not isinstance(row.get("output"), dict):
            raise EvsError(f"corrupt run file {path}: line {lineno} is not an evs prediction "
                           "(needs sample_id and output)")
        rows.append(row)
    return rows


def load_run(path: str | Path) -> list[RunModel]:
    """The models of one ``evs eval`` run folder with their answers."""
    run = Path(path)
    if not run.exists():
        raise ConfigError(f"run folder not found: {run}")
    if not run.is_dir():
        raise ConfigError(f"--runs {run} is not a folder (pass an `evs eval` run folder, e.g. outputs/<stamp>)")
    pred_dir = run / "predictions"
    files = sorted(pred_dir.glob("*/*.jsonl")) if pred_dir.is_dir() else []
    if not files:
        raise ConfigError(f"{run} is not an evs eval run folder: no predictions/<model>/<dataset>.jsonl in it")
    by_model: dict[str, RunModel] = {}
    for f in files:
        model = f.parent.name
        dataset = f.stem
        rm = by_model.setdefault(model, RunModel(model, run, {}, {}, 0))
        for row in _read_lines(f):
            if int(row.get("repeat", 0) or 0) != 0:
                continue
            key = (dataset, str(row.get("subset") or "default"), str(row["sample_id"]))
            out = row["output"]
            rm.prompts[key] = prompt_of(row.get("request") or {})
            if out.get("error"):
                rm.failed += 1
                continue
            rm.answers[key] = str(out.get("text") or "")
    return list(by_model.values())


def load_runs(paths: list[str]) -> tuple[list[str], list[Item], dict[str, dict[str, Any]]]:
    """Pair the models of several runs on the samples they all answered.

    Returns the model names (in the order given), the shared items, and per model where it
    came from and how many of its samples could not be used.
    """
    models: dict[str, RunModel] = {}
    for p in paths:
        for rm in load_run(p):
            if rm.name in models:
                raise ConfigError(f"model '{rm.name}' appears in two runs: {models[rm.name].run} and {rm.run}; "
                                  "pass one run per model")
            models[rm.name] = rm
    if len(models) < 2:
        raise ConfigError(f"an arena needs at least two models; the runs hold only {', '.join(models) or 'none'}")
    names = list(models)
    shared = set.intersection(*(set(m.answers) for m in models.values()))
    if not shared:
        detail = "; ".join(f"{m.name} ({m.run}): {len(m.answers)} answered" for m in models.values())
        raise ConfigError(f"the runs share no answered samples (same benchmark, subset and sample id): {detail}")
    items = []
    for key in sorted(shared):
        prompt = models[names[0]].prompts.get(key, "")
        items.append(Item(key=key, prompt=prompt, answers={n: models[n].answers[key] for n in names}))
    info = {n: {"run": str(m.run), "answered": len(m.answers), "failed": m.failed,
                "unshared": len(m.answers) - len(shared)} for n, m in models.items()}
    return names, items, info


PROMPT_FIELDS = ("prompt", "question", "input", "instruction", "turns")
ID_FIELDS = ("id", "uid", "question_id", "sample_id")
SUBSET_FIELDS = ("subset", "category", "cluster")


def load_prompts(path: str | Path, limit: int | None = None) -> list[Item]:
    """Prompts for a live arena: JSONL/JSON/CSV rows with ``prompt`` (or ``question``, ``input``,
    ``instruction``, ``messages``), optional ``id``, ``subset``/``category`` and ``benchmark``."""
    from evs_core.data import read_records

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"prompts file not found: {p}")
    try:
        rows = read_records(p)
    except EvsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure is one line
        raise ConfigError(f"cannot read prompts file {p}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not rows:
        raise ConfigError(f"prompts file {p} holds no prompts")
    items: list[Item] = []
    seen: set[Key] = set()
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ConfigError(f"prompts file {p}: row {n} is not an object")
        messages = row.get("messages")
        text = None
        for f in PROMPT_FIELDS:
            v = row.get(f)
            if isinstance(v, list) and v:  # Arena-Hard "turns": [{"content": ...}]
                v = v[-1].get("content") if isinstance(v[-1], dict) else v[-1]
            if v not in (None, ""):
                text = str(v)
                break
        if messages is not None:
            if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
                raise ConfigError(f"prompts file {p}: row {n} 'messages' must be a list of {{role, content}}")
            if text is None:
                text = prompt_of({"messages": messages})
        if not text:
            raise ConfigError(f"prompts file {p}: row {n} has no prompt (fields: {', '.join(PROMPT_FIELDS)} or messages)")
        sid = next((str(row[f]) for f in ID_FIELDS if row.get(f) not in (None, "")), str(n - 1))
        subset = next((str(row[f]) for f in SUBSET_FIELDS if row.get(f) not in (None, "")), "default")
        bench = str(row.get("benchmark") or p.stem)
        key = (bench, subset, sid)
        if key in seen:
            raise ConfigError(f"prompts file {p}: id '{sid}' appears twice in subset '{subset}'")
        seen.add(key)
        items.append(Item(key=key, prompt=text, messages=messages or [{"role": "user", "content": text}]))
        if limit and len(items) >= limit:
            break
    return items
