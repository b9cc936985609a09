"""Click commands of evs-native. The engine is imported only when a command runs."""

from __future__ import annotations

from pathlib import Path

import click


class MultiValueOption(click.Option):
    """An option that takes every following argument up to the next option: ``--datasets a b c``."""

    def add_to_parser(self, parser, ctx):
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
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


def _json_opt(ctx, param, value):
    from evs_core.config import parse_json_arg

    return parse_json_arg("--" + param.name.replace("_", "-"), value)


def _dict_opt(ctx, param, value):
    """JSON or EvalScope's k=v,k=v form."""
    from evs_core.compat import parse_dict_arg

    return parse_dict_arg(param.opts[0], value)


def _refuse(ctx, param, value):
    if value in (None, False, ()):
        return None
    from evs_core.compat import refusal
    from evs_core.errors import ConfigError

    raise ConfigError(refusal(param.name))


def _refused_options(f):
    """Every EvalScope argument evs refuses is still an option, so it is refused with its reason."""
    from evs_core.compat import EVAL_ARGS

    for a in reversed(EVAL_ARGS):
        if a.refused and a.name != "eval_config":  # --eval-config goes with --eval-backend (plugin backends)
            f = click.option(a.option, a.name, is_flag=a.flag, default=None, expose_value=False, hidden=True,
                             callback=_refuse, is_eager=True)(f)
    return f


@click.command("eval", context_settings={"show_default": True})
@click.option("--model", help="Model: API model id, local folder, hub id, 'smollm2-135m-instruct' (offline) or 'mock'.")
@click.option("--model-id", help="The model's name in reports and output folders (default: --model).")
@click.option("--model-type", help="Adapter: openai_api, transformers, mock (inferred when omitted).")
@click.option("--eval-type", help="EvalScope's name for --model-type: openai_api, llm_ckpt (→ transformers), mock_llm.")
@click.option("--model-task", help="text_generation (EvalScope's name; image models: evs aigc).")
@click.option("--api-url", help="Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1.")
@click.option("--api-key", help="API key ('EMPTY' for local servers). Never written to any output.")
@click.option("--datasets", cls=MultiValueOption, multiple=True,
              help="Benchmarks to run: names or benchmark spec files (.yaml); space- or comma-separated; repeatable.")
@click.option("--benchmark-file", "benchmark_file", multiple=True, type=click.Path(dir_okay=False),
              help="A benchmark spec file (YAML/TOML) to register and run; repeatable.")
@click.option("--limit", type=float, help="Samples per subset (integer) or fraction (0<x<1).")
@click.option("--dataset-args", callback=_json_opt, help='Per-benchmark JSON, e.g. \'{"gsm8k": {"few_shot_num": 2}}\'.')
@click.option("--generation-config", callback=_dict_opt,
              help='Sampling parameters, JSON or k=v: \'{"temperature": 0}\', max_tokens=512,stream=true. '
                   "timeout/retries/n/stream configure the client; extra_body merges into the request.")
@click.option("--model-args", callback=_dict_opt,
              help="Adapter arguments, JSON or k=v (local: device, dtype/precision, device_map, revision, batch_size…).")
@click.option("--chat-template", help="Jinja chat template for a local model (→ model_args.chat_template).")
@click.option("--judge-args", "judge_args", callback=_json_opt,
              help='JSON LLM-judge settings, e.g. \'{"model": "qwen", "api_url": "http://127.0.0.1:8000/v1", "strategy": "llm"}\'.')
@click.option("--judge", "judge", callback=_json_opt, help="EvalScope's name for --judge-args (its typed form with 'models' too).")
@click.option("--judge-strategy", help="Judge strategy: rule, llm, llm_when_rule_fails (EvalScope: auto, llm_recall).")
@click.option("--judge-model-args", callback=_json_opt, help="EvalScope's older judge model JSON (model_id, api_url, api_key).")
@click.option("--dataset-dir", help="Local data root laid out as DIR/<benchmark>/…; never downloads.")
@click.option("--dataset-hub", type=click.Choice(["huggingface", "modelscope", "local"]), help="Online data source.")
@click.option("--work-dir", help="Where run folders are written (default: outputs).")
@click.option("--no-timestamp", is_flag=True, default=None, help="Write the run into --work-dir itself.")
@click.option("--concurrency", "--eval-batch-size", "concurrency", type=int,
              help="Samples in flight (API) or batch size (local). Default 8.")
@click.option("--timeout", type=float, help="Seconds per request (default 300).")
@click.option("--idle-timeout", type=float, help="Seconds without a byte before a streamed request is retried (default 60).")
@click.option("--retries", type=int, help="Retries on 429/5xx/connection errors/malformed bodies (default 3).")
@click.option("--stream", is_flag=True, default=None, help="Stream responses (records TTFT); = generation_config stream=true.")
@click.option("--repeats", type=int, help="Generations per sample (default 1).")
@click.option("--use-cache", help="Resume this earlier run folder: completed samples are not asked again.")
@click.option("--rescore", "--rerun-review", "rescore", is_flag=True, default=None,
              help="With --use-cache: recompute reviews and reports from the saved predictions, no model calls.")
@click.option("--seed", type=int, help="Seed (default 42).")
@click.option("--collect-perf/--no-collect-perf", default=None, help="Record latency per sample (TTFT when streaming).")
@click.option("--ignore-errors", is_flag=True, default=None, help="Always on: failed samples are recorded and counted.")
@click.option("--debug", is_flag=True, default=None, help="Debug-level log messages.")
@click.option("--no-progress", is_flag=True, default=None, help="Hide the progress bar.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default=None,
              help="Run model calls here, or on Ray actors (one per replica). [default: local]")
@click.option("--ray-address", help="With --executor ray: auto, HOST:PORT or ray://HOST:PORT (default: start a local Ray).")
@click.option("--replicas", type=int, help="With --executor ray: model replicas, one Ray actor each (default 1; "
              "with several comma-separated --api-url endpoints, one per endpoint).")
@click.option("--ray-resources", callback=_json_opt, help='With --executor ray: JSON resources per replica, e.g. \'{"num_gpus": 1}\'.')
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML or JSON task config; flags override it.")
@click.option("--serve-model", help="Start an OpenAI-compatible server for this model folder or hub id on a free "
              "127.0.0.1 port, evaluate through it, stop it on exit.")
@click.option("--backend", type=click.Choice(["auto", "transformers", "vllm"]), default=None,
              help="Server for --serve-model: vllm (when installed) or evs's small transformers server. [default: auto]")
@click.option("--serve-args", callback=_json_opt, help="JSON for the server: vllm serve flags, or local model_args.")
@click.option("--serve-timeout", type=float, default=None, help="Seconds to wait for the server to be healthy. [default: 600]")
@_refused_options
@click.option("--eval-backend", default="native",
              help="Evaluator: native, or one registered by a plugin (e.g. vlmevalkit from evs-vlm).")
@click.option("--eval-config", type=click.Path(dir_okay=False), help="The backend's own config file (with --eval-backend).")
def eval_command(config_file, datasets, limit, judge_args, benchmark_file, serve_model, backend, serve_args,
                 serve_timeout, eval_backend, eval_config, **flags):
    """Evaluate a model on benchmarks and write predictions, reviews and reports.

    EvalScope's `evalscope eval` arguments work with the same meaning (see docs/migrating-from-evalscope.md).
    """
    from evs_core.config import load_config_file
    from evs_core.errors import ConfigError

    from evs_native.engine import print_table, run_task

    if (eval_backend or "native").lower() != "native":
        from evs_core.backends import BackendOptions, load_backend_config
        from evs_core.registry import get_registries

        evaluator = get_registries(click.get_current_context().find_root().obj).eval_backends.load(eval_backend)()
        if not eval_config:
            raise ConfigError(f"--eval-backend {eval_backend} needs --eval-config FILE (the backend's own config)")
        cfg = load_backend_config(eval_config)
        evaluator.check(cfg)
        opts = BackendOptions(work_dir=flags.get("work_dir") or "outputs", concurrency=flags.get("concurrency"),
                              limit=limit, api_key=flags.get("api_key"), no_progress=bool(flags.get("no_progress")))
        print_table(evaluator.run(cfg, opts))
        return
    if eval_config:
        raise click.UsageError("--eval-config goes with --eval-backend NAME")

    data = load_config_file(config_file) if config_file else {}
    if judge_args is not None and flags.get("judge") is not None:
        raise ConfigError("give --judge-args or --judge, not both")
    if judge_args is not None:
        flags["judge"] = judge_args
    if datasets:
        data["datasets"] = [d for item in datasets for d in item.replace(",", " ").split()]
    if limit is not None:
        data["limit"] = int(limit) if float(limit).is_integer() else limit
    if benchmark_file:
        data["benchmark_file"] = list(benchmark_file)
    if "datasets" not in data and data.get("benchmark_file"):
        files = data["benchmark_file"]
        data["datasets"] = [files] if isinstance(files, str) else list(files)
    for key, value in flags.items():
        if value is not None:
            data[key] = value
    serve = {"serve_model": serve_model, "backend": backend, "serve_args": serve_args, "serve_timeout": serve_timeout}
    for key in serve:  # also accepted in --config; flags win
        value = data.pop(key, None)
        if serve[key] is None:
            serve[key] = value
    if "datasets" not in data:
        raise click.UsageError("--datasets or --benchmark-file is required (or 'datasets' in --config)")
    pm = click.get_current_context().find_root().obj
    if serve["serve_model"]:
        reports = _eval_served(data, serve, pm)
    else:
        if "model" not in data:
            raise click.UsageError("--model is required (or 'model' in --config)")
        reports = run_task(data, pm=pm)
    print_table(reports)


def _eval_served(data, serve, pm):
    """``evs eval --serve-model``: every check first, then the server, then the run through it."""
    from evs_core.errors import ConfigError
    from evs_core.serve import ServedModel

    from evs_native.engine import run_task, to_config

    if data.get("api_url"):
        raise ConfigError("--serve-model starts its own server: drop --api-url")
    served = ServedModel(serve["serve_model"], backend=serve["backend"] or "auto", serve_args=serve["serve_args"],
                         ready_timeout=serve["serve_timeout"] or 600.0)
    served.name = data.get("model") or served.name  # the name requests carry (vllm's --served-model-name)
    data = {**data, "model": served.name, "model_type": "openai_api",
            "api_url": "http://127.0.0.1:1/v1"}
    to_config(data)  # a bad config stops here, before the server starts
    click.echo(f"Starting the {served.backend} server for {served.model} ...", err=True)
    with served:
        click.echo(f"Serving at {served.url}", err=True)
        return run_task({**data, "api_url": served.url}, pm=pm)


@click.group("benchmarks", invoke_without_command=True)
@click.option("--tag", help="Only benchmarks with this tag.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def benchmarks_group(ctx, tag=None, as_json=False):
    """List the benchmarks evs knows (from every installed plugin); same as `evs benchmarks list`."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_benchmarks, tag=tag, as_json=as_json)
    elif tag or as_json:
        raise click.UsageError(f"--tag/--json go after the subcommand: evs benchmarks {ctx.invoked_subcommand} --json")


@benchmarks_group.command("list")
@click.option("--tag", help="Only benchmarks with this tag.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_benchmarks(ctx, tag=None, as_json=False):
    """List benchmarks grouped by their first tag: name, tags, subsets, samples, description.

    Read from registration metadata and spec files: no benchmark module is imported.
    """
    import json

    from evs_core.registry import get_registries
    from evs_core.specfile import listing_info

    reg = get_registries(ctx.find_root().obj).benchmarks
    rows = []
    for name in reg.names():
        e = reg.entry(name)
        try:
            info = listing_info(e)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark never hides the others
            info = {"tags": e.meta.get("tags", []), "description": e.meta.get("description", ""), "subsets": [],
                    "num_samples": None}
            click.echo(f"warning: benchmark '{name}' (plugin '{e.plugin}'): {exc}", err=True)
        if tag and tag not in info["tags"]:
            continue
        rows.append({"name": name, **info, "plugin": e.plugin})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    # Grouped by each benchmark's first tag (its group), groups and names in alphabetical order.
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["tags"][0] if r["tags"] else "other", []).append(r)
    head = ("name", "tags", "subsets", "samples", "description")
    table = [(r["name"], ", ".join(r["tags"]), str(len(r["subsets"])) if r["subsets"] else "-",
              str(r["num_samples"]) if r["num_samples"] else "-", r["description"]) for r in rows]
    widths = [max(len(t[c]) for t in [head, *table]) for c in range(4)]
    by_name = {t[0]: t for t in table}
    lines = ["  " + "  ".join(head[c].ljust(widths[c]) for c in range(4)) + "  " + head[4]]
    for group in sorted(groups):
        lines.append(f"\n{group} ({len(groups[group])})")
        for r in sorted(groups[group], key=lambda r: r["name"]):
            t = by_name[r["name"]]
            lines.append("  " + "  ".join(t[c].ljust(widths[c]) for c in range(4)) + "  " + t[4])
    lines.append(f"\n{len(rows)} benchmarks in {len(groups)} groups")
    click.echo("\n".join(lines))


@benchmarks_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show_benchmark(ctx, name, as_json=False):
    """Show one benchmark as its resolved spec: data source, subsets, prompt, filters, metrics, dataset_args."""
    import json

    from evs_core.registry import get_registries

    cls = get_registries(ctx.find_root().obj).benchmarks.load(name)
    info = cls.describe()
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(dump_yaml(info).rstrip())


def dump_yaml(data) -> str:
    """YAML with multi-line strings as literal blocks, as a spec file would be written."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper, value):
        style = "|" if "\n" in value and value == value.strip(" ") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the page (default: RUN_DIR/report.html; required for several runs).")
def report_command(run_dirs, output):
    """Write the self-contained report.html of eval run folders (several: side by side)."""
    from evs_native.html_report import write_report

    if len(run_dirs) > 1 and not output:
        raise click.UsageError("several run folders need --output FILE.html")
    if output and Path(output).parent.exists() and not Path(output).parent.is_dir():
        raise click.UsageError(f"--output: {Path(output).parent} is not a folder")
    path = write_report(run_dirs[0], list(run_dirs[1:]), output)  # a bad folder: one line, exit 2
    click.echo(str(path))
