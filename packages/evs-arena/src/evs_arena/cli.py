"""The ``evs arena`` command. The engine (and numpy) are imported only when it runs."""

from __future__ import annotations

import json

import click


class _MultiValue(click.Option):
    """``--runs a b c``: every following argument up to the next option."""

    def add_to_parser(self, parser, ctx):
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name)
            if opt is None:
                continue
            original = opt.process

            def process(value, state, _original=original):
                values = [value]
                while state.rargs and not state.rargs[0].startswith("-"):
                    values.append(state.rargs.pop(0))
                for v in values:
                    _original(v, state)

            opt.process = process


def _json(ctx, param, value):
    if value is None:
        return None
    from evs_core.errors import ConfigError

    name = "--" + param.name.replace("_", "-")
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    want = list if param.name == "models" else dict
    if not isinstance(data, want):
        raise ConfigError(f"{name} must be a JSON {'list' if want is list else 'object'}")
    return data


@click.command("arena", context_settings={"show_default": True, "max_content_width": 110})
@click.option("--runs", cls=_MultiValue, multiple=True, help="Saved `evs eval` run folders whose answers battle.")
@click.option("--prompts", help="Live: prompts file (JSONL/JSON/CSV with prompt or question, optional id, category).")
@click.option("--models", callback=_json,
              help='Live: JSON list of model configs, e.g. \'[{"name": "a", "model": "m", "api_url": "http://127.0.0.1:8000/v1"}]\'.')
@click.option("--limit", type=int, help="Live: only the first N prompts.")
@click.option("--baseline", help="Model anchored at rating 1000 (win rate 50%). Default: the first model.")
@click.option("--pairing", type=click.Choice(["baseline", "round_robin", "adaptive"]),
              help="Who battles whom (default baseline: each model against the baseline).")
@click.option("--judge-args", "judge", callback=_json,
              help='JSON judge settings as in evs eval, e.g. \'{"model": "qwen", "api_url": "http://127.0.0.1:8000/v1"}\'.')
@click.option("--judge-system-prompt", type=click.Path(dir_okay=False), help="File with the judge's system prompt (default: Arena-Hard's).")
@click.option("--judge-template", type=click.Path(dir_okay=False),
              help="File with the judge's user message; placeholders {question}, {answer_a}, {answer_b}.")
@click.option("--scale", callback=_json, help='JSON verdict overrides: label -> [winner A/B/tie, weight], e.g. \'{"A>>B": ["A", 2]}\'.')
@click.option("--strong-weight", type=int, help="Weight of a strong verdict (A>>B, B>>A). Default 3.")
@click.option("--tie-rule", type=click.Choice(["half", "drop"]), help="A tie is half a win for each side (default) or dropped.")
@click.option("--bootstrap-rounds", type=int, help="Bootstrap resamples for the intervals. Default 100.")
@click.option("--bootstrap-by", type=click.Choice(["battle", "sample"]), help="Resample battle rows (default, EvalScope) or prompts.")
@click.option("--style-control", is_flag=True, default=None, help="Also report ratings with length and markdown as covariates.")
@click.option("--budget", type=int, help="Adaptive: at most this many judge calls.")
@click.option("--adaptive-z", type=float, help="Adaptive: interval half-width in standard errors. Default 1.96.")
@click.option("--adaptive-warmup", type=int, help="Adaptive: battles per pair before choosing. Default 2.")
@click.option("--seed", type=int, help="Seed of the bootstrap and of adaptive sampling. Default 42.")
@click.option("--work-dir", help="Where run folders are written (default: outputs).")
@click.option("--use-cache", help="Resume this arena run folder: answers and judged games are reused.")
@click.option("--concurrency", type=int, help="Requests in flight per model and for the judge. Default 8.")
@click.option("--timeout", type=float, help="Seconds per request (default 300).")
@click.option("--retries", type=int, help="Retries on 429/5xx/connection errors (default 3).")
@click.option("--no-progress", is_flag=True, default=None, help="Print nothing but the table.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML or JSON arena config; flags override it.")
def arena_command(config_file, runs, **flags):
    """Pairwise battles judged by an LLM: Bradley–Terry ratings, intervals, win rates, leaderboard.

    \b
    From saved runs:  evs arena --runs outputs/A outputs/B --baseline B --judge-args '{...}'
    Live:             evs arena --prompts prompts.jsonl --models '[{...}, {...}]' --baseline B --judge-args '{...}'
    """
    from evs_core.config import load_config_file

    from evs_arena.engine import run_arena
    from evs_arena.leaderboard import format_table

    data = load_config_file(config_file) if config_file else {}
    if runs:
        data["runs"] = list(runs)
    for key, value in flags.items():
        if value is not None:
            data[key] = value
    quiet = bool(data.get("no_progress"))

    def echo(msg: str) -> None:
        if not quiet:
            click.echo(msg, err=True)

    pm = click.get_current_context().find_root().obj
    board = run_arena(data, pm=pm, echo=echo)
    click.echo(format_table(board))
    echo(f"results: {board['_run_dir']}")
