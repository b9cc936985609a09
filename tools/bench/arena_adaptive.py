"""Judge calls that adaptive pairing needs, against the full round robin, on simulated arenas.

Models of known strengths (evenly spaced Elo) battle on a pool of prompts per pair; a simulated
judge gives each (battle, position) a fixed verdict drawn from the Bradley-Terry probability of
the true strengths (15 % ties, a third of decisive verdicts strong), so round robin and adaptive
see the same verdict whenever they judge the same game. Round robin judges the whole pool;
adaptive (evs_arena.pairing.AdaptiveScheduler) chooses battles until the ranking is settled.

For each arena size it prints medians over seeds: the judge calls of round robin; the calls
after which adaptive's ranking equals round robin's final ranking for good, and after which the
mean 95 % interval width of neighbouring models' rating differences (sandwich Wald, Elo) is as
narrow as round robin's; their ratios to round robin; and what the shipped stop rule (settled,
budget or exhausted) does: calls, same ranking as round robin, width. Run:

    python tools/bench/arena_adaptive.py [--models 4 6 8] [--prompts 100] [--gap 50] [--seeds 5]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import statistics
import time

import numpy as np
from evs_arena import ratings as R
from evs_arena.pairing import AdaptiveScheduler, Battle


def verdict_y(battle: Battle, game: int, strength: dict[str, float], seed: int) -> tuple[float, int]:
    """The fixed simulated verdict of one game: model_1's score and the weight."""
    return _verdict(battle, game, tuple(sorted(strength.items())), seed)


@functools.cache
def _verdict(battle: Battle, game: int, strength_items: tuple, seed: int) -> tuple[float, int]:
    strength = dict(strength_items)
    h = hashlib.sha256(f"{seed}|{battle.id}|{game}".encode()).digest()
    u1, u2, u3 = (int.from_bytes(h[i:i + 4], "big") / 2**32 for i in (0, 4, 8))
    if u1 < 0.15:
        return 0.5, 1
    p = 1 / (1 + 10 ** ((strength[battle.model_2] - strength[battle.model_1]) / 400))
    y = 1.0 if u2 < p else 0.0
    return y, 3 if u3 < 1 / 3 else 1


def rows_for(battles: list[Battle], strength, seed) -> list[dict]:
    rows = []
    for b in battles:
        for g in (0, 1):
            y, w = verdict_y(b, g, strength, seed)
            rows.append({"a": b.model_1, "b": b.model_2, "y": y, "weight": w, "sample": b.key})
    return rows


def wald(rows, models, baseline):
    """Ranking and mean 95 % Wald width (Elo) of the neighbours' rating differences."""
    games = R.make_games(rows, models)
    fit = R.fit_bt(games, models.index(baseline))
    order = [int(i) for i in np.argsort(-fit.beta, kind="stable")]
    widths = []
    for i, j in zip(order, order[1:], strict=False):
        half = R.pair_interval_overlap(fit, i, j, 1.96) + abs(fit.beta[i] - fit.beta[j])
        widths.append(2 * R.SCALE * half)
    return [models[i] for i in order], float(np.mean(widths))


def one(k: int, prompts: int, gap: float, seed: int, batch: int, z: float):
    models = [f"m{i}" for i in range(k)]
    strength = {m: gap * i for i, m in enumerate(models)}
    truth = sorted(models, key=lambda m: -strength[m])
    baseline = models[0]
    pool = [Battle(("sim", "default", str(p)), a, b) for p in range(prompts) for a, b in itertools.combinations(models, 2)]
    rr_rank, rr_width = wald(rows_for(pool, strength, seed), models, baseline)
    # 1) the stop rule as shipped: settled or pool exhausted
    sched = AdaptiveScheduler(pool, models, baseline, warmup=2, z=z, batch=batch, seed=seed)
    chosen: list[Battle] = []
    t0 = time.perf_counter()
    while nxt := sched.next_batch(rows_for(chosen, strength, seed)):
        chosen.extend(nxt)
    wall = time.perf_counter() - t0
    stop_rank, stop_width = wald(rows_for(chosen, strength, seed), models, baseline)
    stop_calls, stop_reason = 2 * len(chosen), sched.stop_reason
    # 2) the same choices carried on past "settled": when does adaptive reach round robin's
    #    ranking (for good) and its neighbour-difference interval width?
    sched = AdaptiveScheduler(pool, models, baseline, warmup=2, z=z, batch=batch, seed=seed, stop_when_settled=False)
    chosen = []
    trace = []
    step = max(2, len(pool) // 50)
    next_check = 0
    while nxt := sched.next_batch(rows_for(chosen, strength, seed)):
        chosen.extend(nxt)
        if len(chosen) >= next_check:
            trace.append((2 * len(chosen), *wald(rows_for(chosen, strength, seed), models, baseline)))
            next_check = len(chosen) + step
    same_rank = next((c for n, (c, r, _) in enumerate(trace) if all(t[1] == rr_rank for t in trace[n:])), None)
    same_width = next((c for c, _, w in trace if w <= rr_width), None)
    return {"rr_calls": 2 * len(pool), "stop_calls": stop_calls, "stop": stop_reason,
            "stop_match_rr": stop_rank == rr_rank, "rr_match_truth": rr_rank == truth,
            "calls_rank": same_rank if same_rank is not None else 2 * len(pool),
            "calls_width": same_width if same_width is not None else 2 * len(pool),
            "rr_width": rr_width, "stop_width": stop_width, "sched_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, nargs="+", default=[4, 6, 8])
    ap.add_argument("--prompts", type=int, default=100, help="prompts per pair in the pool")
    ap.add_argument("--gap", type=float, default=50.0, help="Elo between neighbouring models")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--z", type=float, default=1.96)
    args = ap.parse_args()
    print(f"pool: {args.prompts} prompts per pair, neighbours {args.gap:g} Elo apart, {args.seeds} seeds, "
          f"batch {args.batch}, z {args.z}")
    head = ("models", "RR calls", "calls to RR's ranking", "calls to RR's width", "ratio (rank/width)",
            "stop rule: calls", "same rank as RR", "width RR/stop", "stops", "RR = truth")
    print(" | ".join(head))
    for k in args.models:
        res = [one(k, args.prompts, args.gap, s, args.batch, args.z) for s in range(args.seeds)]
        med = lambda key, res=res: statistics.median(r[key] for r in res)  # noqa: E731
        stops: dict[str, int] = {}
        for r in res:
            stops[r["stop"]] = stops.get(r["stop"], 0) + 1
        rr = med("rr_calls")
        print(" | ".join([
            str(k), f"{rr:.0f}", f"{med('calls_rank'):.0f}", f"{med('calls_width'):.0f}",
            f"{med('calls_rank') / rr:.2f}/{med('calls_width') / rr:.2f}", f"{med('stop_calls'):.0f}",
            f"{sum(r['stop_match_rr'] for r in res)}/{len(res)}", f"{med('rr_width'):.0f}/{med('stop_width'):.0f}",
            ",".join(f"{k2}:{v}" for k2, v in sorted(stops.items())),
            f"{sum(r['rr_match_truth'] for r in res)}/{len(res)}"]), flush=True)


if __name__ == "__main__":
    main()
