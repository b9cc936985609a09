"""The arena run: load answers (saved runs or live models), judge battles, rate, write files.

Run folder (``<work_dir>/<YYYYmmdd_HHMMSS>/``)::

    configs/arena_config.yaml   the arena settings (API keys masked)
    answers/<model>.jsonl       one line per prompt: the prompt and the model's answer
    battles.jsonl               one line per judged game (both positions), appended as it finishes
    leaderboard.json            ratings, intervals, win rates, per benchmark/subset and overall
    leaderboard.html            the same as a self-contained page

Every check (config, runs, prompts, models, judge) happens before the folder is created. The
judge is probed on up to three games first: a judge that returns no parsable verdict stops the
run with one line and nothing written. ``--use-cache <run>`` reuses the answers and every game
that has a verdict (or an unparsable reply) from that folder; failed judge calls are asked again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError, suggest
from evs_core.outputs import JsonlAppender, atomic_write_text, new_run_dir, read_jsonl_tolerant, safe_name
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evs_arena import pairing as P
from evs_arena import verdict as V
from evs_arena.sources import Item

log = logging.getLogger("evs.arena")
SCHEMA_VERSION = "1"
PACKAGES = ("evs-core", "evs-cli", "evs-arena")
PROBE_GAMES = 3
MODEL_KEYS = ("name", "model", "model_type", "api_url", "api_key", "model_args", "generation_config", "concurrency",
              "timeout", "retries")


class ArenaConfig(BaseModel):
    """The settings of one ``evs arena`` run (CLI flags or a YAML/JSON file)."""

    model_config = ConfigDict(extra="forbid")

    runs: list[str] | None = Field(None, description="Saved `evs eval` run folders.")
    prompts: str | None = Field(None, description="Prompts file for a live arena.")
    models: list[dict[str, Any]] | None = Field(None, description="Model configs for a live arena.")
    limit: int | None = Field(None, ge=1, description="Live: use the first N prompts.")
    baseline: str | None = Field(None, description="Anchor model (rating 1000, win rate 0.5).")
    pairing: str = Field("baseline", description="baseline, round_robin or adaptive.")
    judge: dict[str, Any] = Field(default_factory=dict, description="Judge settings as --judge-args of evs eval.")
    judge_system_prompt: str | None = Field(None, description="File with the judge's system prompt.")
    judge_template: str | None = Field(None, description="File with the judge's user template.")
    scale: dict[str, Any] | None = Field(None, description="Verdict label -> [winner A/B/tie, weight].")
    strong_weight: int = Field(3, ge=1, description="Weight of a strong verdict (>>).")
    tie_rule: str = Field("half", description="half (a tie is half a win each) or drop.")
    bootstrap_rounds: int = Field(100, ge=1, description="Bootstrap resamples.")
    bootstrap_by: str = Field("battle", description="battle (EvalScope) or sample.")
    seed: int = Field(42, description="Seed of the bootstrap and of adaptive sampling.")
    style_control: bool = Field(False, description="Also fit with length and markdown covariates.")
    budget: int | None = Field(None, ge=2, description="Adaptive: at most this many judge calls.")
    adaptive_z: float = Field(1.96, gt=0, description="Adaptive: interval half-width in standard errors.")
    adaptive_warmup: int = Field(2, ge=1, description="Adaptive: battles per pair before choosing.")
    work_dir: str = Field("outputs", description="Where run folders are written.")
    use_cache: str | None = Field(None, description="Resume this arena run folder.")
    concurrency: int = Field(8, ge=1, description="Requests in flight per model and for the judge.")
    timeout: float = Field(300.0, gt=0, description="Seconds per request.")
    retries: int = Field(3, ge=0, description="Retries on 429/5xx/connection errors.")
    no_progress: bool = Field(False, description="Hide progress output.")

    def public_dict(self) -> dict[str, Any]:
        d = self.model_dump()
        for holder in [d.get("judge") or {}, *(d.get("models") or [])]:
            if isinstance(holder, dict) and holder.get("api_key") and holder["api_key"] != "EMPTY":
                holder["api_key"] = "***"
            if isinstance(holder, dict) and isinstance(holder.get("model_args"), dict):
                headers = holder["model_args"].get("headers")
                if isinstance(headers, dict):
                    holder["model_args"]["headers"] = {k: "***" for k in headers}
        return d


def make_arena_config(data: dict[str, Any]) -> ArenaConfig:
    try:
        cfg = ArenaConfig(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"unknown arena config key '{loc}'{suggest(str(first['loc'][-1]), ArenaConfig.model_fields)}") from None
        raise ConfigError(f"bad value for '{loc}': {first['msg']}") from None
    if cfg.pairing not in P.PAIRINGS:
        raise ConfigError(f"bad --pairing '{cfg.pairing}'{suggest(cfg.pairing, P.PAIRINGS)} (valid: {', '.join(P.PAIRINGS)})")
    if cfg.bootstrap_by not in ("battle", "sample"):
        raise ConfigError(f"bad --bootstrap-by '{cfg.bootstrap_by}' (valid: battle, sample)")
    if bool(cfg.runs) == bool(cfg.prompts):
        raise ConfigError("give either --runs RUN... (saved evs eval runs) or --prompts FILE with --models (live)")
    if cfg.prompts and not cfg.models:
        raise ConfigError("--prompts needs --models '[{\"name\": ..., \"model\": ..., \"api_url\": ...}, ...]'")
    if cfg.runs and cfg.models:
        raise ConfigError("--models is for live arenas (--prompts); with --runs the models are those of the runs")
    if not cfg.judge:
        raise ConfigError("the arena needs a judge: --judge-args '{\"model\": \"NAME\", \"api_url\": \"URL\"}'")
    adaptive_only = [k for k in ("budget", "adaptive_z", "adaptive_warmup") if k in cfg.model_fields_set]
    if adaptive_only and cfg.pairing != "adaptive":
        raise ConfigError(f"--{adaptive_only[0].replace('_', '-')} applies to --pairing adaptive only")
    if cfg.limit is not None and cfg.runs:
        raise ConfigError("--limit applies to live arenas (--prompts); with --runs every shared sample battles")
    return cfg


def _package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _read_text_file(path: str | None, what: str) -> str | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} file not found: {p}")
    return p.read_text(encoding="utf-8")


class LiveModel:
    """A model asked in a live arena, built through the model registry like `evs eval`'s."""

    def __init__(self, name: str, adapter, generation: dict[str, Any]) -> None:
        self.name = name
        self.adapter = adapter
        self.generation = generation
        self.sem: asyncio.Semaphore | None = None
        self.concurrency = max(1, int(getattr(adapter, "max_concurrency", None) or adapter.config.concurrency))


def build_live_models(cfg: ArenaConfig, registries) -> list[LiveModel]:
    from evs_core.config import make_config

    out: list[LiveModel] = []
    names: set[str] = set()
    if not isinstance(cfg.models, list) or not cfg.models:
        raise ConfigError("--models must be a non-empty JSON list of model configs")
    for n, spec in enumerate(cfg.models):
        if not isinstance(spec, dict):
            raise ConfigError(f"--models[{n}] must be an object like {{\"name\": ..., \"model\": ..., \"api_url\": ...}}")
        for key in spec:
            if key not in MODEL_KEYS:
                raise ConfigError(f"unknown key '{key}' in --models[{n}]{suggest(key, MODEL_KEYS)} (valid: {', '.join(MODEL_KEYS)})")
        if not spec.get("model"):
            raise ConfigError(f"--models[{n}] needs 'model'")
        name = str(spec.get("name") or spec["model"])
        if name in names:
            raise ConfigError(f"model name '{name}' appears twice in --models; give each a distinct 'name'")
        names.add(name)
        data = {k: v for k, v in spec.items() if k != "name"}
        data.setdefault("concurrency", cfg.concurrency)
        data.setdefault("timeout", cfg.timeout)
        data.setdefault("retries", cfg.retries)
        data["datasets"] = ["arena"]
        try:
            mcfg = make_config(data)
        except ConfigError as exc:
            raise ConfigError(f"--models[{n}] ({name}): {exc}") from None
        mtype = mcfg.resolved_model_type()
        if mtype not in registries.models:
            raise ConfigError(f"--models[{n}] ({name}): unknown model_type '{mtype}'"
                              f"{suggest(mtype, registries.models.names())} (known: {', '.join(registries.models.names())})")
        try:
            adapter = registries.models.load(mtype)(mcfg)
        except EvsError as exc:
            raise ConfigError(f"--models[{n}] ({name}): {exc}") from None
        out.append(LiveModel(name, adapter, dict(mcfg.generation_config)))
    if len(out) < 2:
        raise ConfigError("an arena needs at least two models in --models")
    return out


class Arena:
    def __init__(self, cfg: ArenaConfig, pm=None, echo=None) -> None:
        from evs_core.registry import get_registries

        self.cfg = cfg
        self.registries = get_registries(pm)
        self.echo = echo or (lambda msg: None)
        self.scale = V.make_scale(cfg.scale, cfg.tie_rule, cfg.strong_weight)
        self.system_prompt = _read_text_file(cfg.judge_system_prompt, "judge system prompt")
        if self.system_prompt is None:
            self.system_prompt = V.SYSTEM_PROMPT
        template = _read_text_file(cfg.judge_template, "judge template")
        if template is not None:
            V.check_template(template)
        self.template = template or V.USER_TEMPLATE
        self.models: list[str] = []
        self.items: list[Item] = []
        self.source_info: dict[str, Any] = {}
        self.live: list[LiveModel] = []
        self.judge = None
        self.run_dir: Path | None = None
        self.games: dict[tuple[str, int], dict[str, Any]] = {}  # (battle id, game) -> battle line
        self._battles_out: JsonlAppender | None = None
        self._answers_out: dict[str, JsonlAppender] = {}
        self._cached: set[tuple[str, int]] = set()
        self._notes: list[str] = []  # shown once every check has passed
        self.planned: list[P.Battle] = []
        self.calls_made = 0
        self.adaptive_info: dict[str, Any] | None = None

    # -- preparation: every check, nothing written ----------------------------------------------
    def prepare(self) -> None:
        from evs_core.config import make_config
        from evs_core.judge import make_judge

        cfg = self.cfg
        if cfg.use_cache:
            run = Path(cfg.use_cache)
            if not run.is_dir():
                raise ConfigError(f"--use-cache {run}: no such arena run folder")
            if not (run / "configs" / "arena_config.yaml").is_file():
                raise ConfigError(f"--use-cache {run} is not an evs arena run folder (no configs/arena_config.yaml)")
        if cfg.runs:
            from evs_arena.sources import load_runs

            self.models, self.items, self.source_info = load_runs(cfg.runs)
        else:
            from evs_arena.sources import load_prompts

            self.items = load_prompts(cfg.prompts, cfg.limit)
            self.live = build_live_models(cfg, self.registries)
            self.models = [m.name for m in self.live]
        if cfg.baseline is None:
            cfg.baseline = self.models[0]
            self._notes.append(f"no --baseline given: using the first model, '{cfg.baseline}'")
        elif cfg.baseline not in self.models:
            raise ConfigError(f"baseline '{cfg.baseline}' is not among the models"
                              f"{suggest(cfg.baseline, self.models)} (models: {', '.join(self.models)})")
        judge_args = dict(cfg.judge)
        judge_args.setdefault("generation_config", {"temperature": 0.0, "max_tokens": 4096})
        jcfg = make_config({"model": "arena", "datasets": ["arena"], "judge": judge_args,
                            "concurrency": cfg.concurrency, "timeout": cfg.timeout, "retries": cfg.retries})
        self.judge = make_judge(jcfg, self.registries)

    # -- judging -------------------------------------------------------------------------------
    def judge_messages(self, item: Item, model_a: str, model_b: str) -> list[dict[str, str]]:
        user = V.fill_template(self.template, item.prompt, item.answers[model_a], item.answers[model_b])
        msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return msgs + [{"role": "user", "content": user}]

    async def judge_game(self, item: Item, battle: P.Battle, game: int) -> dict[str, Any]:
        model_a, model_b = (battle.model_1, battle.model_2) if game == 0 else (battle.model_2, battle.model_1)
        out = await self.judge.complete(self.judge_messages(item, model_a, model_b))
        self.calls_made += 1
        label = None if out.error else V.parse_verdict(out.text)
        winner = weight = None
        if label is not None:
            pos, weight = self.scale.outcome(label)
            winner = "tie" if pos == "tie" else (model_a if pos == "A" else model_b)
        return {"schema_version": SCHEMA_VERSION, "battle": battle.id, "game": game,
                "benchmark": item.benchmark, "subset": item.subset, "sample_id": item.sample_id,
                "model_1": battle.model_1, "model_2": battle.model_2, "model_a": model_a, "model_b": model_b,
                "judge": self.judge.model_name, "raw": out.text, "judge_reasoning": out.reasoning,
                "verdict": label, "winner": winner, "weight": weight, "error": out.error,
                "unparsable": out.error is None and label is None, "time": time.time()}

    def _record(self, line: dict[str, Any]) -> None:
        self.games[(line["battle"], line["game"])] = line
        if self._battles_out is not None:
            self._battles_out.write(line)

    async def judge_battles(self, battles: list[P.Battle], by_key: dict) -> None:
        async def one(b: P.Battle, game: int) -> None:
            if (b.id, game) in self.games:
                return
            self._record(await self.judge_game(by_key[b.key], b, game))

        await asyncio.gather(*(one(b, g) for b in battles for g in (0, 1)))

    async def probe(self, battles: list[P.Battle], by_key: dict) -> None:
        """Ask the judge a few games first: stop before writing anything if it never gives a verdict."""
        if any(g.get("verdict") for g in self.games.values()):
            return
        tried: list[dict[str, Any]] = []
        for b in battles[:PROBE_GAMES]:
            line = await self.judge_game(by_key[b.key], b, 0)
            tried.append(line)
            if line["verdict"]:
                self.games[(b.id, 0)] = line
                return
        if not tried:
            return
        last = tried[-1]
        if all(t["error"] for t in tried):
            raise EvsError(f"the judge '{self.judge.model_name}' failed on {len(tried)} probe games: {last['error']}")
        snippet = " ".join((last["raw"] or "").split())[:120]
        raise EvsError(f"the judge '{self.judge.model_name}' returned no parsable verdict in {len(tried)} probe games "
                       f"(last reply: {snippet!r}); it must end with one of [[A>>B]], [[A>B]], [[A=B]], [[B>A]], [[B>>A]]")

    # -- live generation ---------------------------------------------------------------------------
    async def generate(self, model: LiveModel, items: list[Item]) -> None:
        from evs_core.models import Request

        if model.sem is None:
            model.sem = asyncio.Semaphore(model.concurrency)

        async def one(item: Item) -> None:
            if model.name in item.answers:
                return
            async with model.sem:
                out = await model.adapter.agenerate(Request(messages=item.messages, generation={}))
            line = {"schema_version": SCHEMA_VERSION, "model": model.name, "benchmark": item.benchmark,
                    "subset": item.subset, "sample_id": item.sample_id, "prompt": item.prompt,
                    "answer": out.text if not out.error else None, "reasoning": out.reasoning, "error": out.error,
                    "usage": out.usage.model_dump() if out.usage else None, "time": time.time()}
            if not out.error:
                item.answers[model.name] = out.text
            self._pending_answers.append(line)
            if model.name in self._answers_out:
                self._answers_out[model.name].write(line)

        await asyncio.gather(*(one(it) for it in items))

    # -- files ---------------------------------------------------------------------------------
    def _open_run_dir(self) -> Path:
        import yaml

        cfg = self.cfg
        if cfg.use_cache:
            run = Path(cfg.use_cache)
        else:
            run = new_run_dir(cfg.work_dir)
            for sub in ("predictions", "reviews", "reports", "logs"):  # new_run_dir's eval layout: not used here
                d = run / sub
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
        (run / "configs").mkdir(parents=True, exist_ok=True)
        (run / "answers").mkdir(parents=True, exist_ok=True)
        atomic_write_text(run / "configs" / "arena_config.yaml",
                          yaml.safe_dump(cfg.public_dict(), sort_keys=False, allow_unicode=True))
        return run

    def _load_cache(self) -> None:
        """Answers and judged games of the --use-cache folder (failed calls are asked again)."""
        run = Path(self.cfg.use_cache)
        by_key = {it.key: it for it in self.items}
        if self.live:
            for m in self.live:
                rows, _ = read_jsonl_tolerant(run / "answers" / f"{safe_name(m.name)}.jsonl")
                for r in rows:
                    key = (str(r.get("benchmark")), str(r.get("subset")), str(r.get("sample_id")))
                    if key in by_key and not r.get("error") and r.get("answer") is not None:
                        by_key[key].answers[m.name] = str(r["answer"])
        rows, _ = read_jsonl_tolerant(run / "battles.jsonl")
        judge = self.judge.model_name
        for r in rows:
            if r.get("error") or r.get("judge") != judge or "battle" not in r:
                continue
            key = (r["battle"], int(r.get("game", 0)))
            self.games[key] = r
            self._cached.add(key)

    def _write_answers_file(self) -> None:
        """From saved runs: the answers used, one file per model (for the viewer)."""
        assert self.run_dir is not None
        from evs_core.outputs import atomic_write_jsonl

        for m in self.models:
            rows = [{"schema_version": SCHEMA_VERSION, "model": m, "benchmark": it.benchmark, "subset": it.subset,
                     "sample_id": it.sample_id, "prompt": it.prompt, "answer": it.answers.get(m), "error": None,
                     "source": self.source_info.get(m, {}).get("run")} for it in self.items]
            atomic_write_jsonl(self.run_dir / "answers" / f"{safe_name(m)}.jsonl", rows)

    # -- the run -------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        self.prepare()
        try:
            return await self._run()
        finally:
            for out in [self._battles_out, *self._answers_out.values()]:
                if out is not None:
                    out.close()
            await self.judge.aclose()
            for m in self.live:
                await m.adapter.aclose()

    async def _run(self) -> dict[str, Any]:
        cfg = self.cfg
        self._pending_answers: list[dict[str, Any]] = []
        try:
            await self.judge.model.preflight()
        except EvsError as exc:
            raise EvsError(f"judge: {exc}") from None
        for m in self.live:
            try:
                await m.adapter.preflight()
            except EvsError as exc:
                raise EvsError(f"model '{m.name}': {exc}") from None
        if cfg.use_cache:
            self._load_cache()
        by_key = {it.key: it for it in self.items}
        pool_pairing = "round_robin" if cfg.pairing == "adaptive" else cfg.pairing
        if self.live:
            # Answer the first prompts in memory (more if they give no battle yet), so the judge is
            # probed before any file exists.
            first: list[P.Battle] = []
            n = 0
            while not first and n < len(self.items):
                head = self.items[n:n + PROBE_GAMES]
                n += PROBE_GAMES
                await asyncio.gather(*(self.generate(m, head) for m in self.live))
                first = P.plan(self.items[:n], self.models, cfg.baseline, pool_pairing)
                errors = [a["error"] for a in self._pending_answers if a.get("error")]
                if not first and errors and len(errors) == len(self._pending_answers):
                    raise EvsError(f"no model answered the first prompts: {errors[-1]}")
        else:
            first = P.plan(self.items, self.models, cfg.baseline, pool_pairing)
        await self.probe(first, by_key)
        # From here on, files are written.
        for note in self._notes:
            self.echo(note)
        self.run_dir = self._open_run_dir()
        self._battles_out = JsonlAppender(self.run_dir / "battles.jsonl")
        for k, line in self.games.items():  # the probe's games (cached ones are in the file already)
            if k not in self._cached:
                self._battles_out.write(line)
        if self.live:
            for m in self.live:
                self._answers_out[m.name] = JsonlAppender(self.run_dir / "answers" / f"{safe_name(m.name)}.jsonl")
            for line in self._pending_answers:
                self._answers_out[line["model"]].write(line)
            self.echo(f"asking {len(self.live)} models {len(self.items)} prompts")
            await asyncio.gather(*(self.generate(m, self.items) for m in self.live))
        else:
            self._write_answers_file()
        battles = P.plan(self.items, self.models, cfg.baseline, pool_pairing)
        if not battles:
            raise EvsError("no battle can be judged: no prompt has answers from two models")
        if cfg.pairing == "adaptive":
            await self._adaptive(battles, by_key)
        else:
            self.echo(f"judging {len(battles)} battles x 2 positions ({cfg.pairing})")
            await self.judge_battles(battles, by_key)
            self.planned = battles
        from evs_arena.leaderboard import build_leaderboard, render_html

        board = build_leaderboard(self, self.planned)
        atomic_write_text(self.run_dir / "leaderboard.json", json.dumps(board, indent=2, ensure_ascii=False))
        atomic_write_text(self.run_dir / "leaderboard.html", render_html(board))
        board["_run_dir"] = str(self.run_dir)
        return board

    async def _adaptive(self, pool: list[P.Battle], by_key: dict) -> None:
        from evs_arena.leaderboard import rating_rows

        cfg = self.cfg
        batch = max(1, self.judge._concurrency // 2)
        sched = P.AdaptiveScheduler(pool, self.models, cfg.baseline, warmup=cfg.adaptive_warmup, z=cfg.adaptive_z,
                                    batch=batch, budget=cfg.budget, seed=cfg.seed)
        chosen: list[P.Battle] = []
        while True:
            rows = rating_rows(self, chosen)
            nxt = sched.next_batch(rows)
            if not nxt:
                break
            chosen.extend(nxt)
            await self.judge_battles(nxt, by_key)
        self.planned = chosen
        self.adaptive_info = {"stopped": sched.stop_reason, "battles": len(chosen), "judge_calls": 2 * len(chosen),
                              "pool_battles": len(pool), "budget": cfg.budget, "z": cfg.adaptive_z,
                              "warmup": cfg.adaptive_warmup, "batch": batch, "steps": sched.steps}
        self.echo(f"adaptive: {len(chosen)} of {len(pool)} battles judged, stopped: {sched.stop_reason}")


def run_arena(data: dict[str, Any], pm=None, echo=None) -> dict[str, Any]:
    cfg = make_arena_config(data)
    arena = Arena(cfg, pm=pm, echo=echo)
    return asyncio.run(arena.run())
