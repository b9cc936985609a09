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


@click.command("eval", context_settings={"show_default": True})
@click.option("--model", help="Model: API model id, local folder, hub id, 'smollm2-135m-instruct' (offline) or 'mock'.")
@click.option("--model-type", help="Adapter: openai_api, transformers, mock (inferred when omitted).")
@click.option("--api-url", help="Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1.")
@click.option("--api-key", help="API key ('EMPTY' for local servers).")
@click.option("--datasets", cls=MultiValueOption, multiple=True,
              help="Benchmarks to run: names or benchmark spec files (.yaml); space- or comma-separated; repeatable.")
@click.option("--benchmark-file", "benchmark_file", multiple=True, type=click.Path(dir_okay=False),
              help="A benchmark spec file (YAML/TOML) to register and run; repeatable.")
@click.option("--limit", type=float, help="Samples per subset (integer) or fraction (0<x<1).")
@click.option("--dataset-args", callback=_json_opt, help='Per-benchmark JSON, e.g. \'{"gsm8k": {"few_shot_num": 2}}\'.')
@click.option("--generation-config", callback=_json_opt, help='JSON sampling parameters, e.g. \'{"temperature": 0}\'.')
@click.option("--model-args", callback=_json_opt, help="JSON adapter arguments (local: device, dtype, batch_size…).")
@click.option("--judge-args", "judge", callback=_json_opt,
              help='JSON LLM-judge settings, e.g. \'{"model": "qwen", "api_url": "http://127.0.0.1:8000/v1", "strategy": "llm"}\'.')
@click.option("--dataset-dir", help="Local data root laid out as DIR/<benchmark>/…; never downloads.")
@click.option("--dataset-hub", type=click.Choice(["huggingface", "modelscope"]), help="Online data source.")
@click.option("--work-dir", help="Where run folders are written (default: outputs).")
@click.option("--concurrency", "--eval-batch-size", "concurrency", type=int,
              help="Samples in flight (API) or batch size (local). Default 8.")
@click.option("--timeout", type=float, help="Seconds per request (default 300).")
@click.option("--retries", type=int, help="Retries on 429/5xx/connection errors (default 3).")
@click.option("--repeats", type=int, help="Generations per sample (default 1).")
@click.option("--use-cache", help="Resume this earlier run folder: completed samples are not asked again.")
@click.option("--rescore", is_flag=True, default=None, help="With --use-cache: recompute reviews and reports, no model calls.")
@click.option("--seed", type=int, help="Seed (default 42).")
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
def eval_command(config_file, datasets, limit, benchmark_file, serve_model, backend, serve_args, serve_timeout,
                 **flags):
    """Evaluate a model on benchmarks and write predictions, reviews and reports."""
    from evs_core.config import load_config_file

    from evs_native.engine import print_table, run_task

    data = load_config_file(config_file) if config_file else {}
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
@click.pass_context
def benchmarks_group(ctx):
    """List the benchmarks evs knows (from every installed plugin)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_benchmarks)


@benchmarks_group.command("list")
@click.option("--tag", help="Only benchmarks with this tag.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_benchmarks(ctx, tag=None, as_json=False):
    """List benchmarks: name, tags, subsets, samples, plugin, description.

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
    table = [("name", "tags", "subsets", "samples", "description")]
    for r in rows:
        table.append((r["name"], ", ".join(r["tags"]), str(len(r["subsets"])) if r["subsets"] else "-",
                      str(r["num_samples"]) if r["num_samples"] else "-", r["description"]))
    widths = [max(len(t[c]) for t in table) for c in range(4)]
    for t in table:
        click.echo("  ".join(t[c].ljust(widths[c]) for c in range(4)) + "  " + t[4])


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
