"""From judged games to the leaderboard: ratings, intervals, win rates, position bias, tables.

:func:`compute_leaderboard` is a pure function of battle lines (the rows of ``battles.jsonl``)
and, for style control, the answers; the run folder's ``leaderboard.json`` is its output.
"""

from __future__ import annotations

import math
import time
from typing import Any

from evs_arena import ratings as R
from evs_arena import verdict as V

LEADERBOARD_KIND = "evs-arena-leaderboard"


def line_rows(lines: list[dict[str, Any]], scale: V.Scale, answers: dict[tuple[str, tuple], str] | None = None,
              style: bool = False) -> list[dict[str, Any]]:
    """Rating rows (``a`` = model_1, ``b`` = model_2, ``y`` = model_1's score) of the parsed games."""
    rows = []
    feats: dict[tuple[str, tuple], dict[str, int]] = {}
    for ln in lines:
        label = ln.get("verdict")
        if not label or label not in scale.outcomes:
            continue
        pos, weight = scale.outcome(label)
        if weight <= 0 or (pos == "tie" and scale.tie_rule == "drop"):
            continue
        m1, m2 = ln["model_1"], ln["model_2"]
        if pos == "tie":
            y = 0.5
        else:
            winner = ln["model_a"] if pos == "A" else ln["model_b"]
            y = 1.0 if winner == m1 else 0.0
        key = (ln["benchmark"], ln["subset"], ln["sample_id"])
        row = {"a": m1, "b": m2, "y": y, "weight": weight, "sample": key, "benchmark": key[0], "subset": key[1]}
        if style:
            for m, slot in ((m1, "style_a"), (m2, "style_b")):
                if (m, key) not in feats:
                    feats[(m, key)] = R.style_features((answers or {}).get((m, key), ""))
                row[slot] = feats[(m, key)]
        rows.append(row)
    return rows


def rating_rows(arena, battles) -> list[dict[str, Any]]:
    lines = [arena.games[(b.id, g)] for b in battles for g in (0, 1) if (b.id, g) in arena.games]
    return line_rows(lines, arena.scale)


def position_bias(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Battles whose two games (positions swapped) both have a verdict, and how often they disagree."""
    by: dict[str, dict[int, dict[str, Any]]] = {}
    for ln in lines:
        if ln.get("verdict"):
            by.setdefault(ln["battle"], {})[int(ln["game"])] = ln
    both = inconsistent = favors_a = favors_b = 0
    for games in by.values():
        if 0 not in games or 1 not in games:
            continue
        both += 1
        outcome = []
        for g in (0, 1):
            ln = games[g]
            w = ln["winner"]
            outcome.append("tie" if w == "tie" else ("m1" if w == ln["model_1"] else "m2"))
        if outcome[0] != outcome[1]:
            inconsistent += 1
            pos = [games[g]["verdict"][0] if games[g]["verdict"] != "A=B" else "=" for g in (0, 1)]
            if pos == ["A", "A"]:
                favors_a += 1
            elif pos == ["B", "B"]:
                favors_b += 1
    return {"battles_both_parsed": both, "inconsistent": inconsistent,
            "rate": inconsistent / both if both else None, "favors_position_a": favors_a,
            "favors_position_b": favors_b}


def _model_rows(rating: R.Rating, rows: list[dict[str, Any]], models: list[str], baseline: str) -> list[dict[str, Any]]:
    stats = {m: {"games": 0, "wins": 0, "losses": 0, "ties": 0, "w": 0.0, "s": 0.0} for m in models}
    for r in rows:
        for m, y in ((r["a"], r["y"]), (r["b"], 1 - r["y"])):
            st = stats[m]
            st["games"] += 1
            st["wins" if y == 1 else "losses" if y == 0 else "ties"] += 1
            st["w"] += r["weight"]
            st["s"] += r["weight"] * y
    base = rating.rating.get(baseline)
    out = []
    for m in models:
        rt = rating.rating[m]
        item: dict[str, Any] = {"model": m, "rating": rt, "lower": rating.lower[m], "upper": rating.upper[m]}
        if base is not None and rt is not None:
            item["win_rate"] = R.win_rate(rt, base)
            item["win_rate_lower"] = R.win_rate(rating.lower[m], base) if m != baseline else 0.5
            item["win_rate_upper"] = R.win_rate(rating.upper[m], base) if m != baseline else 0.5
        else:
            item["win_rate"] = item["win_rate_lower"] = item["win_rate_upper"] = None
        st = stats[m]
        item.update(games=st["games"], wins=st["wins"], losses=st["losses"], ties=st["ties"],
                    score=st["s"] / st["w"] if st["w"] else None)
        out.append(item)
    out.sort(key=lambda d: (d["rating"] is None, -(d["rating"] or 0.0), d["model"]))
    for i, item in enumerate(out, 1):
        item["rank"] = i if item["rating"] is not None else None
        if item["rating"] is None:
            item["rank_ub"] = None
            continue
        item["rank_ub"] = 1 + sum(1 for o in out if o["lower"] is not None and item["upper"] is not None
                                  and o["model"] != item["model"] and o["lower"] > item["upper"])
    return out


def _pairwise(rows: list[dict[str, Any]], models: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    acc: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        for x, y, s in ((r["a"], r["b"], r["y"]), (r["b"], r["a"], 1 - r["y"])):
            v = acc.setdefault((x, y), [0, 0.0, 0.0])
            v[0] += 1
            v[1] += r["weight"]
            v[2] += r["weight"] * s
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (x, y), (n, w, s) in acc.items():
        out.setdefault(x, {})[y] = {"games": n, "score": s / w if w else None}
    return out


def scope_result(rows: list[dict[str, Any]], lines: list[dict[str, Any]], models: list[str], baseline: str,
                 settings: dict[str, Any]) -> dict[str, Any]:
    counts = {"games": len(lines), "parsed": sum(1 for ln in lines if ln.get("verdict")),
              "unparsable": sum(1 for ln in lines if ln.get("unparsable")),
              "errors": sum(1 for ln in lines if ln.get("error")),
              "battles": len({ln["battle"] for ln in lines}), "rating_rows": len(rows)}
    out: dict[str, Any] = {"counts": counts}
    if not rows:
        out.update(models=[], pairwise={}, mle_exists=None)
        return out
    games = R.make_games(rows, models, with_style=settings["style_control"])
    rating = R.rate(games, baseline, rounds=settings["bootstrap_rounds"], seed=settings["seed"],
                    by=settings["bootstrap_by"])
    out["mle_exists"] = rating.mle_exists
    out["bootstrap_fallback_rounds"] = rating.fallback_rounds
    out["models"] = _model_rows(rating, rows, models, baseline)
    out["pairwise"] = _pairwise(rows, models)
    if settings["style_control"]:
        st = R.rate(games, baseline, rounds=settings["bootstrap_rounds"], seed=settings["seed"],
                    by=settings["bootstrap_by"], style=True)
        out["style_controlled"] = {"models": _model_rows(st, rows, models, baseline), **st.style,
                                   "mle_exists": st.mle_exists}
    return out


def _subset_mean(scopes: list[dict[str, Any]], models: list[str]) -> dict[str, dict[str, float]]:
    """EvalScope's aggregate: the mean of per-subset win rates (and their bounds)."""
    out = {}
    for m in models:
        vals = [next((d for d in s.get("models", []) if d["model"] == m), None) for s in scopes]
        vals = [v for v in vals if v and v.get("win_rate") is not None]
        if vals:
            out[m] = {k: sum(v[k] for v in vals) / len(vals) for k in ("win_rate", "win_rate_lower", "win_rate_upper")}
            out[m]["subsets"] = len(vals)
    return out


def compute_leaderboard(lines: list[dict[str, Any]], models: list[str], baseline: str, scale: V.Scale, *,
                        bootstrap_rounds: int = 100, seed: int = 42, bootstrap_by: str = "battle",
                        style_control: bool = False, answers: dict | None = None) -> dict[str, Any]:
    settings = {"bootstrap_rounds": bootstrap_rounds, "seed": seed, "bootstrap_by": bootstrap_by,
                "style_control": style_control, "scale": R.SCALE, "init_rating": R.INIT_RATING,
                "verdicts": scale.as_dict(), "ci_level": 0.95}
    rows = line_rows(lines, scale, answers, style_control)
    overall = scope_result(rows, lines, models, baseline, settings)
    benches: dict[str, Any] = {}
    subset_scopes: list[dict[str, Any]] = []
    for bench in sorted({ln["benchmark"] for ln in lines}):
        b_lines = [ln for ln in lines if ln["benchmark"] == bench]
        b_rows = [r for r in rows if r["benchmark"] == bench]
        entry = scope_result(b_rows, b_lines, models, baseline, settings)
        subs = {}
        for sub in sorted({ln["subset"] for ln in b_lines}):
            s_lines = [ln for ln in b_lines if ln["subset"] == sub]
            s_rows = [r for r in b_rows if r["subset"] == sub]
            subs[sub] = scope_result(s_rows, s_lines, models, baseline, settings)
        entry["subsets"] = subs
        entry["win_rate_subset_mean"] = _subset_mean(list(subs.values()), models)
        subset_scopes.extend(subs.values())
        benches[bench] = entry
    overall["win_rate_subset_mean"] = _subset_mean(subset_scopes, models)
    overall["position_bias"] = position_bias(lines)
    return {"settings": settings, "overall": overall, "benchmarks": benches}


def build_leaderboard(arena, battles) -> dict[str, Any]:
    from evs_arena.engine import SCHEMA_VERSION, _package_versions

    cfg = arena.cfg
    lines = [arena.games[(b.id, g)] for b in battles for g in (0, 1) if (b.id, g) in arena.games]
    answers = {(m, it.key): text for it in arena.items for m, text in it.answers.items()}
    body = compute_leaderboard(lines, arena.models, cfg.baseline, arena.scale, bootstrap_rounds=cfg.bootstrap_rounds,
                               seed=cfg.seed, bootstrap_by=cfg.bootstrap_by, style_control=cfg.style_control,
                               answers=answers)
    judge = {"model": arena.judge.model_name}
    judge.update(calls_this_run=arena.calls_made, games=len(lines),
                 parsed=sum(1 for ln in lines if ln.get("verdict")),
                 unparsable=sum(1 for ln in lines if ln.get("unparsable")),
                 errors=sum(1 for ln in lines if ln.get("error")),
                 position_bias=body["overall"]["position_bias"])
    return {"schema_version": SCHEMA_VERSION, "kind": LEADERBOARD_KIND,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "models": arena.models, "baseline": cfg.baseline,
            "pairing": cfg.pairing, "source": "runs" if cfg.runs else "live", "sources": arena.source_info,
            "judge": judge, "adaptive": arena.adaptive_info, **body, "config": cfg.public_dict(),
            "packages": _package_versions()}


# ---------------------------------------------------------------------------------------------
# Rendering


def _f(x: Any, digits: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def table_rows(scope: dict[str, Any]) -> list[tuple[str, ...]]:
    rows = [("rank", "model", "rating", "95% CI", "win rate %", "CI (%)", "games", "W/T/L")]
    for d in scope.get("models", []):
        ci = f"[{_f(d['lower'])}, {_f(d['upper'])}]" if d["rating"] is not None else "-"
        if d.get("win_rate") is not None:
            wr = _f(100 * d["win_rate"])
            wci = f"({100 * (d['win_rate_lower'] - d['win_rate']):+.1f} / {100 * (d['win_rate_upper'] - d['win_rate']):+.1f})"
        else:
            wr, wci = "-", "-"
        rows.append((str(d.get("rank") or "-"), d["model"], _f(d["rating"]), ci, wr, wci, str(d["games"]),
                     f"{d['wins']}/{d['ties']}/{d['losses']}"))
    return rows


def format_table(board: dict[str, Any]) -> str:
    """The terminal leaderboard: overall, then each benchmark when there are several."""
    out = []

    def block(title: str, scope: dict[str, Any]) -> None:
        rows = table_rows(scope)
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        out.append(title)
        for r in rows:
            out.append("  ".join(r[c].ljust(widths[c]) for c in range(len(r))).rstrip())
        out.append("")

    block(f"Arena leaderboard (baseline {board['baseline']}, {board['pairing']} pairing)", board["overall"])
    sc = board["overall"].get("style_controlled")
    if sc:
        block("Style-controlled (length and markdown as covariates)", sc)
    if len(board["benchmarks"]) > 1:
        for name, b in board["benchmarks"].items():
            block(f"Benchmark {name}", b)
    j = board["judge"]
    pb = j.get("position_bias") or {}
    rate = pb.get("rate")
    out.append(f"judge {j.get('model')}: {j['parsed']} of {j['games']} games parsed, {j['unparsable']} unparsable, "
               f"{j['errors']} failed; position bias {_f(100 * rate) + '%' if rate is not None else '-'} "
               f"of {pb.get('battles_both_parsed', 0)} battles")
    if board.get("adaptive"):
        a = board["adaptive"]
        out.append(f"adaptive: {a['battles']} of {a['pool_battles']} battles ({a['judge_calls']} judge calls), "
                   f"stopped: {a['stopped']}")
    if board["overall"].get("mle_exists") is False:
        out.append("note: one model won or lost every game it played; ratings use a weak prior (mle_exists: false)")
    return "\n".join(out)


def _whisker_svg(d: dict[str, Any], lo: float, hi: float, width: int = 240) -> str:
    if d["rating"] is None or d["lower"] is None:
        return ""
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return 10 + (width - 20) * (v - lo) / span

    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='14' role='img'>"
            f"<line x1='{x(d['lower']):.1f}' x2='{x(d['upper']):.1f}' y1='7' y2='7' stroke='#555' stroke-width='2'/>"
            f"<line x1='{x(d['lower']):.1f}' x2='{x(d['lower']):.1f}' y1='2' y2='12' stroke='#555'/>"
            f"<line x1='{x(d['upper']):.1f}' x2='{x(d['upper']):.1f}' y1='2' y2='12' stroke='#555'/>"
            f"<circle cx='{x(d['rating']):.1f}' cy='7' r='4' fill='#2563eb'/></svg>")


def _html_table(scope: dict[str, Any]) -> str:
    from evs_core.html_page import Raw, table

    ms = [d for d in scope.get("models", []) if d["rating"] is not None]
    if not ms:
        return "<p class='muted'>No parsed games.</p>"
    lo = min(d["lower"] for d in ms)
    hi = max(d["upper"] for d in ms)
    rows = []
    for d, cells in zip(scope["models"], table_rows(scope)[1:], strict=True):
        rows.append([*cells[:4], Raw(_whisker_svg(d, lo, hi)), f"{cells[4]} {cells[5]}", cells[6], cells[7]])
    return table(["rank", "model", "rating", "95% CI", "interval", "win rate %", "games", "W/T/L"], rows,
                 numeric=(0, 2, 6))


def _matrix_html(scope: dict[str, Any], models: list[str]) -> str:
    from evs_core.html_page import table

    pw = scope.get("pairwise", {})
    rows = []
    for a in models:
        cells = []
        for b in models:
            v = pw.get(a, {}).get(b)
            cells.append("–" if not v or v["score"] is None else f"{100 * v['score']:.0f}% ({v['games']})")
        rows.append([a, *cells])
    return table(["row beats column", *models], rows)


def render_html(board: dict[str, Any]) -> str:
    """A self-contained page (evs-core's page shell: no script, no network); all run text escaped."""
    from evs_core.html_page import esc, page, svg_bars

    j = board["judge"]
    parts = [_html_table(board["overall"])]
    bars = [(d["model"], d["win_rate"], d["win_rate_lower"], d["win_rate_upper"])
            for d in board["overall"].get("models", []) if d.get("win_rate") is not None]
    if bars:
        parts.append(svg_bars(bars, title=f"Win rate against {board['baseline']} (95% interval)"))
    if board["overall"].get("style_controlled"):
        parts += ["<h2>Style-controlled</h2>", _html_table(board["overall"]["style_controlled"])]
    parts += ["<h2>Pairwise win rates</h2>", _matrix_html(board["overall"], board["models"])]
    for name, b in board["benchmarks"].items():
        parts += [f"<h2>Benchmark {esc(name)}</h2>", _html_table(b)]
        for sub, s in b.get("subsets", {}).items():
            parts += [f"<h3>{esc(name)} / {esc(sub)}</h3>", _html_table(s)]
    pb = (j.get("position_bias") or {}).get("rate")
    subtitle = (f"baseline <b>{esc(board['baseline'])}</b> · {esc(board['pairing'])} pairing · judge "
                f"{esc(j.get('model'))} · {j['parsed']} of {j['games']} games parsed, {j['unparsable']} unparsable, "
                f"{j['errors']} failed · position bias {esc(_f(100 * pb) + '%' if pb is not None else '–')}")
    return page("Arena leaderboard", "".join(parts), subtitle) + "\n"
