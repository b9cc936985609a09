"""Arena runs (``evs arena``) as the viewer reads them: files only, never evs_arena itself.

An arena run folder holds ``leaderboard.json`` (``kind: evs-arena-leaderboard``),
``battles.jsonl`` (one judged game per line) and ``answers/<model>.jsonl``. Every path goes
through :func:`evs_viz.data.inside`, so nothing outside the outputs root is read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evs_viz.data import MAX_JSON_BYTES, SKIP_DIRS, Note, inside

KIND = "evs-arena-leaderboard"


@dataclass
class ArenaRun:
    rel: str
    path: Path
    board: dict[str, Any] | None
    created: float
    notes: list[Note] = field(default_factory=list)


def _read_board(path: Path) -> tuple[dict | None, str | None]:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None, "leaderboard.json is too large to read"
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"leaderboard.json cannot be read: {type(exc).__name__}"
    if not isinstance(data, dict) or data.get("kind") != KIND or not isinstance(data.get("overall"), dict):
        return None, "leaderboard.json is not an evs arena leaderboard"
    return data, None


def discover_arenas(root: str | Path) -> list[ArenaRun]:
    """Arena run folders under ``root`` (any depth), newest first; broken ones carry a note."""
    root = Path(root).resolve()
    out: list[ArenaRun] = []
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames if n not in SKIP_DIRS and not (d / n).is_symlink())
        is_arena = (d / "configs" / "arena_config.yaml").is_file() or "battles.jsonl" in filenames
        if not is_arena:
            continue
        dirnames[:] = []
        rel = str(d.relative_to(root)) if d != root else "."
        board, reason = (None, "no leaderboard.json yet (the arena is running, or stopped before the end)")
        lb = d / "leaderboard.json"
        if lb.is_file() and not lb.is_symlink():
            board, reason = _read_board(lb)
        run = ArenaRun(rel=rel, path=d, board=board, created=(lb if lb.exists() else d).stat().st_mtime)
        if reason:
            run.notes.append(Note("warning" if board is None and not lb.exists() else "error", reason))
        out.append(run)
    out.sort(key=lambda r: (-r.created, r.rel))
    return out


def _jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    rows, bad = [], 0
    if not path.is_file() or path.is_symlink():
        return rows, 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(row, dict):
                rows.append(row)
            else:
                bad += 1
    return rows, bad


@dataclass
class Battle:
    """One battle (a prompt, two models) with its two games and the two answers."""

    id: str
    benchmark: str
    subset: str
    sample_id: str
    model_1: str
    model_2: str
    prompt: str = ""
    answer_1: str | None = None
    answer_2: str | None = None
    games: dict[int, dict[str, Any]] = field(default_factory=dict)

    def outcome(self) -> str:
        """model_1's result over both games: win, loss, tie, split, unparsed."""
        res = []
        for g in sorted(self.games.values(), key=lambda x: x.get("game", 0)):
            w = g.get("winner")
            if not g.get("verdict"):
                continue
            res.append("tie" if w == "tie" else "win" if w == self.model_1 else "loss")
        if not res:
            return "unparsed"
        if len(set(res)) == 1:
            return res[0]
        return "split"


def load_battles(root: Path, rel: str) -> tuple[list[Battle], dict[str, int]]:
    """The battles of an arena run, joined with the prompts and answers; and unreadable line counts."""
    run = inside(root, rel)
    lines, bad = _jsonl(inside(root, run / "battles.jsonl"))
    answers: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    bad_answers = 0
    adir = run / "answers"
    if adir.is_dir():
        for f in sorted(adir.glob("*.jsonl")):
            rows, b = _jsonl(inside(root, f))
            bad_answers += b
            for r in rows:
                key = (str(r.get("model")), str(r.get("benchmark")), str(r.get("subset")), str(r.get("sample_id")))
                if r.get("answer") is not None or key not in answers:
                    answers[key] = r
    battles: dict[str, Battle] = {}
    for ln in lines:
        bid = str(ln.get("battle", ""))
        if not bid:
            bad += 1
            continue
        b = battles.get(bid)
        if b is None:
            b = Battle(id=bid, benchmark=str(ln.get("benchmark")), subset=str(ln.get("subset")),
                       sample_id=str(ln.get("sample_id")), model_1=str(ln.get("model_1")), model_2=str(ln.get("model_2")))
            a1 = answers.get((b.model_1, b.benchmark, b.subset, b.sample_id)) or {}
            a2 = answers.get((b.model_2, b.benchmark, b.subset, b.sample_id)) or {}
            b.prompt = str(a1.get("prompt") or a2.get("prompt") or "")
            b.answer_1 = a1.get("answer")
            b.answer_2 = a2.get("answer")
            battles[bid] = b
        try:
            game = int(ln.get("game", 0))
        except (TypeError, ValueError):
            bad += 1
            continue
        b.games[game] = ln  # a game asked again (resume) replaces the earlier line
    return list(battles.values()), {"battles.jsonl": bad, "answers": bad_answers}


def scopes(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The leaderboard's scopes by label: overall, each benchmark, each benchmark/subset."""
    out = {"overall": board["overall"]}
    for name, b in (board.get("benchmarks") or {}).items():
        out[f"benchmark: {name}"] = b
        for sub, s in (b.get("subsets") or {}).items():
            out[f"subset: {name} / {sub}"] = s
    return out


def _num(x: Any, digits: int = 1) -> str:
    return "–" if not isinstance(x, (int, float)) or isinstance(x, bool) else f"{x:.{digits}f}"


def leaderboard_rows(scope: dict[str, Any]) -> list[dict[str, str]]:
    """The scope's models as display rows (text only): rank, rating, interval, win rate."""
    rows = []
    for d in scope.get("models") or []:
        wr = d.get("win_rate")
        rows.append({"rank": str(d.get("rank") or "–"), "model": str(d.get("model")), "rating": _num(d.get("rating")),
                     "95% CI": f"[{_num(d.get('lower'))}, {_num(d.get('upper'))}]",
                     "win rate %": _num(100 * wr) if isinstance(wr, (int, float)) else "–",
                     "win rate CI %": f"[{_num(100 * d['win_rate_lower'])}, {_num(100 * d['win_rate_upper'])}]"
                     if isinstance(wr, (int, float)) else "–",
                     "games": str(d.get("games")), "W/T/L": f"{d.get('wins')}/{d.get('ties')}/{d.get('losses')}"})
    return rows


def win_matrix(scope: dict[str, Any], models: list[str]) -> list[list[float | None]]:
    """Row model's weighted score against the column model (0..1), None where they never met."""
    pw = scope.get("pairwise") or {}
    return [[(pw.get(a, {}).get(b) or {}).get("score") if a != b else None for b in models] for a in models]
