"""The ``evs perf`` click group. Standard library and click only: the run is imported lazily.

EvalScope's ``evalscope perf`` spellings are accepted (aliases, space-separated lists such as
``--parallel 1 10 50``, ``--headers k=v``, ``--rate -1``) or refused with one line that says what
to use instead (:mod:`evs_perf.compat`).
"""

from __future__ import annotations

import click

from evs_perf.compat import REFUSED

_CTX = {"help_option_names": ["-h", "--help"], "max_content_width": 110}

#: options whose value may be given as several space-separated words (joined with commas)
LIST_OPTIONS = {"--concurrency", "--parallel", "-c", "--requests", "--number", "-n", "--rate", "--max-tokens",
                "--output-tokens", "--random-output-len", "--percentiles", "--input-tokens"}
#: options repeated once per space-separated word (EvalScope's nargs)
MULTI_OPTIONS = {"--headers", "--stop", "--stop-token-ids"}


def _looks_like_value(tok: str, commands) -> bool:
    if tok in commands:
        return False
    if tok.startswith("-"):
        try:
            float(tok)
            return True
        except ValueError:
            return False
    return True


def expand_lists(args: list[str], commands=()) -> list[str]:
    """``--parallel 1 10 50`` -> ``--parallel 1,10,50``; ``--headers a=1 b=2`` -> ``--headers a=1
    --headers b=2``. Values stop at the next option or subcommand."""
    out, i = [], 0
    while i < len(args):
        tok = args[i]
        out.append(tok)
        i += 1
        if tok == "--":
            out += args[i:]
            break
        if tok in LIST_OPTIONS or tok in MULTI_OPTIONS:
            vals = []
            while i < len(args) and (not vals or _looks_like_value(args[i], commands)):
                if vals and args[i].startswith("-") and tok in MULTI_OPTIONS:
                    break
                vals.append(args[i])
                i += 1
            if tok in LIST_OPTIONS:
                if vals:
                    out.append(",".join(vals))
            else:
                for k, v in enumerate(vals):
                    if k:
                        out.append(tok)
                    out.append(v)
    return out


class PerfGroup(click.Group):
    def parse_args(self, ctx, args):
        return super().parse_args(ctx, expand_lists(list(args), set(self.commands)))


def _refuse(name, reason):
    def callback(ctx, param, value):
        if value not in (None, False, ()) and not ctx.resilient_parsing:
            from evs_core.errors import ConfigError

            raise ConfigError(f"--{name} (EvalScope) is not supported: {reason}")
        return value

    return callback


def _refused_options():
    out = []
    for name, (flag, reason) in REFUSED.items():
        out.append(click.option(f"--{name}", f"_refused_{name.replace('-', '_')}", is_flag=flag, default=None,
                                hidden=True, expose_value=False, callback=_refuse(name, reason)))
    return out


def _opts(fn):
    options = [
        # endpoint
        click.option("--url", help="Endpoint URL or base URL (http://host:8000 or …/v1 or …/v1/chat/completions)."),
        click.option("--serve-model", default=None,
                     help="Start an OpenAI-compatible server for this model folder or hub id on a free 127.0.0.1 "
                          "port, measure it, stop it on exit (instead of --url)."),
        click.option("--backend", type=click.Choice(["auto", "transformers", "vllm"]), default="auto",
                     show_default=True, help="Server for --serve-model: vllm when installed, else evs's small "
                     "transformers server (a convenience, not a serving benchmark)."),
        click.option("--serve-args", default=None, help="JSON for the server: vllm serve flags, or local model_args."),
        click.option("--serve-timeout", type=float, default=600.0, show_default=True,
                     help="Seconds to wait for the --serve-model server to be healthy."),
        click.option("--api", default="chat", show_default=True,
                     help="Request format: chat (alias openai), completions, embeddings, rerank, or a plugin's."),
        click.option("--model", default=None, help="Model name sent in requests (default: the server's first model)."),
        click.option("--api-key", envvar="OPENAI_API_KEY", default=None, help="Bearer token (env OPENAI_API_KEY)."),
        click.option("--headers", "headers", multiple=True,
                     help="Extra HTTP header 'Name: value' or name=value (repeatable, space-separated) or a JSON object."),
        click.option("--no-test-connection", is_flag=True, help="Skip the unmeasured first request."),
        # load
        click.option("--concurrency", "--parallel", "-c", "concurrency", default="1", show_default=True,
                     help="Requests in flight (a list makes a sweep: 1,10,50 or 1 10 50). With --rate: a cap (0 = none)."),
        click.option("--requests", "--number", "-n", "requests", default=None,
                     help="Measured requests per point (a list pairs with --concurrency/--rate). "
                          "Default: 4 x concurrency, or 1 in open loop x rate x 10s. Multi-turn: conversations."),
        click.option("--rate", default=None,
                     help="Arrival rate in req/s (a list makes a sweep; 'inf' sends all at once; -1 = as fast as "
                          "possible, EvalScope's default: closed loop). None = closed loop."),
        click.option("--arrival", type=click.Choice(["poisson", "constant"]), default="poisson", show_default=True,
                     help="Arrival process with --rate."),
        click.option("--open-loop", is_flag=True, help="With --rate: no cap on requests in flight (EvalScope's name)."),
        click.option("--duration", type=float, default=None, help="Seconds to send requests per point (instead of a count)."),
        click.option("--warmup", "--warmup-num", "warmup", default=None,
                     help="Warm-up requests before each point, excluded from metrics (a value below 1 is a ratio of "
                          "--requests; default: = concurrency, at most 64)."),
        click.option("--ramp-up", type=float, default=0.0, show_default=True,
                     help="Seconds over which closed-loop slots start (during warm-up)."),
        click.option("--workers", "--num-workers", "workers", default="auto", show_default=True,
                     help="Client processes (auto: 1, or 2 from concurrency 128 or rate 300 on a multi-core machine)."),
        click.option("--ray-address", default=None,
                     help="Run the load generators on a Ray cluster: auto, HOST:PORT or ray://HOST:PORT "
                          "(with --ray-workers and no address: a local Ray). pip install \"evs-perf[ray]\"."),
        click.option("--ray-workers", type=int, default=None,
                     help="Load generators on Ray (one CPU each), started together; their records are merged."),
        click.option("--loop", type=click.Choice(["auto", "asyncio", "uvloop"]), default="auto", show_default=True,
                     help="Client event loop (auto: uvloop when installed, pip install \"evs-perf[uvloop]\")."),
        click.option("--sleep-interval", type=float, default=0.0, show_default=True,
                     help="Seconds to pause between the points of a sweep."),
        # data
        click.option("--dataset", default="random", show_default=True,
                     help="random, random_vl, openqa, sharegpt, line_by_line, custom, embeddings, rerank, "
                          "random_embedding(_batch), longalpaca, flickr8k, kontext_bench, speed_benchmark(_long), "
                          "workload_trace, random_multi_turn, sharegpt_multi_turn, or a plugin's."),
        click.option("--dataset-path", default=None, help="Local data file or folder (never downloaded)."),
        click.option("--data-source", default=None,
                     help="Where hub datasets come from without --dataset-path: huggingface (the datasets library), "
                          "or local (a --dataset-path is required)."),
        click.option("--tokenizer", "--tokenizer-path", "tokenizer", default=None,
                     help="Local tokenizer (tokenizer.json or a folder): exact random lengths; counts tokens when the "
                          "server sends no usage; chat template for --apply-chat-template."),
        click.option("--input-tokens", "--random-input-len", "input_tokens", default="128", show_default=True,
                     help="Input tokens of random prompts: N or MIN-MAX (multi-turn: new tokens per turn)."),
        click.option("--max-tokens", "--output-tokens", "--random-output-len", "max_tokens", default="256",
                     show_default=True, help="Output tokens requested (max_tokens): N, MIN-MAX or MIN MAX."),
        click.option("--min-tokens", type=int, default=None,
                     help="Sent as min_tokens (with --max-tokens N and --ignore-eos: exactly N tokens); also the "
                          "lower bound of a --max-tokens range."),
        click.option("--prefix-tokens", "--random-prefix-len", "--prefix-length", "prefix_tokens", type=int, default=0,
                     show_default=True, help="A shared prefix of this many tokens in every random prompt."),
        click.option("--min-prompt-length", type=int, default=None,
                     help="random: lower bound of input tokens; file datasets: drop shorter prompts (tokens with "
                          "--tokenizer, else characters)."),
        click.option("--max-prompt-length", type=int, default=None, help="Upper bound, as --min-prompt-length."),
        click.option("--prompt", default=None, help="One fixed prompt for every request: TEXT or @FILE."),
        click.option("--dataset-args", default=None,
                     help="JSON options of the dataset (EvalScope's --dataset-args); workload_trace: speed, "
                          "model_override, model_mapping, match_output_length."),
        click.option("--query-template", default=None,
                     help="A JSON request body with {prompt}/%p, {model}/%m, {max_tokens} placeholders, or a text "
                          "with {prompt}; TEXT or @FILE."),
        click.option("--apply-chat-template/--no-apply-chat-template", default=None,
                     help="completions API: render messages with --tokenizer's chat template."),
        click.option("--image-count", "--image-num", "image_count", type=int, default=1, show_default=True,
                     help="random_vl: images per prompt."),
        click.option("--image-size", default="224x224", show_default=True, help="random_vl: WIDTHxHEIGHT."),
        click.option("--image-width", type=int, default=None, help="random_vl: image width (EvalScope's name)."),
        click.option("--image-height", type=int, default=None, help="random_vl: image height."),
        click.option("--image-format", default=None, help="random_vl: RGB (the only one generated)."),
        click.option("--embedding-batch", type=int, default=None,
                     help="random_embedding_batch: texts per embeddings request (default 8)."),
        click.option("--num-prompts", type=int, default=None, help="Distinct prompts to build (default: one per request, at most 2000)."),
        click.option("--multi-turn", is_flag=True,
                     help="Conversations: each turn sent with the whole history; -n counts conversations, "
                          "-c conversations in flight."),
        click.option("--min-turns", type=int, default=1, show_default=True, help="Multi-turn: user turns, at least."),
        click.option("--max-turns", type=int, default=None, help="Multi-turn: user turns, at most (default: --min-turns, "
                                                                 "or the whole conversation of a dataset)."),
        # request
        click.option("--stream/--no-stream", default=True, show_default=True, help="Stream responses (SSE)."),
        click.option("--extra-body", "--extra-args", "extra_body", default=None,
                     help='JSON merged into every request body last, e.g. \'{"ignore_eos": true}\'.'),
        click.option("--ignore-eos", is_flag=True, help='Shortcut for --extra-body \'{"ignore_eos": true}\'.'),
        click.option("--temperature", type=float, default=None),
        click.option("--top-p", type=float, default=None),
        click.option("--top-k", type=int, default=None),
        click.option("--frequency-penalty", type=float, default=None),
        click.option("--presence-penalty", type=float, default=None),
        click.option("--repetition-penalty", type=float, default=None),
        click.option("--stop", multiple=True, help="Stop sequence (repeatable, space-separated)."),
        click.option("--stop-token-ids", multiple=True, help="Stop token ids (repeatable, space-separated)."),
        click.option("--n-choices", type=int, default=None, help="Sent as n: completions per request."),
        click.option("--logprobs", is_flag=True, default=None, help="Ask for logprobs."),
        click.option("--top-logprobs", type=int, default=None, help="Sent as top_logprobs."),
        click.option("--connect-timeout", type=float, default=10.0, show_default=True, help="Seconds to connect."),
        click.option("--timeout", "--total-timeout", "timeout", type=float, default=600.0, show_default=True,
                     help="Seconds per request, in total."),
        click.option("--read-timeout", type=float, default=None,
                     help="Seconds without a byte from the server before a request fails (default: --timeout)."),
        # run
        click.option("--output-dir", "--outputs-dir", "output_dir", default="outputs/perf", show_default=True,
                     help="Where run folders are written."),
        click.option("--name", default=None, help="Run folder name (default: timestamp_model)."),
        click.option("--no-timestamp", is_flag=True, help="Default folder name without the timestamp."),
        click.option("--seed", type=int, default=42, show_default=True),
        click.option("--percentiles", default="50,90,95,99,99.9", show_default=True, help="Percentiles to report."),
        click.option("--slo", default=None,
                     help="e.g. 'ttft_p99<=500ms,tpot_p99<=50ms': report the highest load that meets them "
                          "(refines a sweep by bisection)."),
        click.option("--slo-refine", type=int, default=2, show_default=True, help="Extra bisection points for --slo."),
        click.option("--goodput", default=None,
                     help="Per-request SLOs for goodput, e.g. 'ttft:500,tpot:50,e2el:2000' (ms). Default: from --slo."),
        click.option("--no-progress", is_flag=True, help="No live progress display."),
        click.option("--no-html", is_flag=True, help="Skip the HTML report."),
        click.option("--wandb-project", default=None, help="Log each point to this wandb project."),
        click.option("--swanlab-project", default=None, help="Log each point to this swanlab project."),
        click.option("--visualizer", type=click.Choice(["wandb", "swanlab"]), default=None,
                     help="EvalScope's name: log to wandb or swanlab (project: --name, else evs-perf)."),
    ] + _refused_options()
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.group("perf", cls=PerfGroup, invoke_without_command=True, context_settings=_CTX)
@_opts
@click.pass_context
def perf(ctx, **options):
    """Stress-test an LLM serving endpoint: TTFT, TPOT, ITL, latency, throughput, goodput.

    \b
    evs perf --url http://127.0.0.1:8000 --model qwen -c 1,16,64 --max-tokens 256
    evs perf --url http://127.0.0.1:8000 --rate 5,10,20 --slo 'ttft_p99<=500ms,tpot_p99<=50ms'
    evs perf --url http://127.0.0.1:8000 --parallel 1 10 50 --number 10 100 500   # EvalScope's spelling
    evs perf --url http://127.0.0.1:8000 --dataset speed_benchmark
    evs perf mock-server --ttft-ms 50 --itl-ms 10

    Metrics are defined in docs/perf.md. A point whose client lagged is marked CLIENT-BOUND.
    """
    if ctx.invoked_subcommand is not None:
        return
    from evs_core.errors import ConfigError

    from evs_perf.run import SERVE_OPTIONS

    serve = {k: options.pop(k) for k in SERVE_OPTIONS}
    if options.get("api") in ("local", "local_vllm"):  # EvalScope: --api local(_vllm) --model PATH
        serve["serve_model"] = serve["serve_model"] or options.get("model")
        serve["backend"] = "vllm" if options["api"] == "local_vllm" else "transformers"
        options["api"] = "chat"
        if not serve["serve_model"]:
            raise ConfigError("--api local needs --model PATH (the model to serve)")
    from evs_perf.run import run_cli

    if serve["serve_model"]:
        return _run_served(options, serve, ctx.obj)
    if not options["url"]:
        raise ConfigError("--url is required (or --serve-model PATH; try `evs perf mock-server` for a local server)")
    run_cli(options, pm=ctx.obj)


def _run_served(options, serve, pm):
    """``--serve-model``: check everything, start the server, measure through it, stop it on any exit."""
    import json

    from evs_core.errors import ConfigError
    from evs_core.serve import ServedModel

    from evs_perf.config import PerfConfig
    from evs_perf.run import run_cli

    if options.get("url"):
        raise ConfigError("--serve-model starts its own server: drop --url")
    args = None
    if serve["serve_args"]:
        try:
            args = json.loads(serve["serve_args"])
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--serve-args is not valid JSON: {exc.msg}") from None
    served = ServedModel(serve["serve_model"], backend=serve["backend"], serve_args=args,
                         ready_timeout=serve["serve_timeout"])
    model = options.get("model")
    if not model or model == serve["serve_model"]:
        model = served.name
    served.name = model
    options = {**options, "model": model}
    PerfConfig.from_options({**options, "url": "http://127.0.0.1:1/v1"})  # bad options stop here, before the server
    click.echo(f"Starting the {served.backend} server for {served.model} ...", err=True)
    with served:
        click.echo(f"Serving at {served.url}", err=True)
        run_cli({**options, "url": served.url}, pm=pm)


@perf.command("mock-server", context_settings=_CTX)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True, help="0 picks a free port (printed).")
@click.option("--ttft-ms", type=float, default=0.0, show_default=True, help="Time to the first content chunk.")
@click.option("--itl-ms", type=float, default=0.0, show_default=True, help="Time between tokens.")
@click.option("--output-tokens", type=int, default=256, show_default=True,
              help="Tokens per response when the request sets no max_tokens.")
@click.option("--tokens-per-chunk", type=int, default=1, show_default=True, help="Bundle this many tokens per chunk.")
@click.option("--no-usage", is_flag=True, help="Never send usage.")
@click.option("--no-role-chunk", is_flag=True, help="Do not send a role-only first chunk (vLLM sends one).")
@click.option("--jitter-ms", type=float, default=0.0, show_default=True, help="Add a uniform 0..J ms delay to each step.")
@click.option("--reasoning-tokens", type=int, default=0, show_default=True,
              help="Stream this many tokens as reasoning_content before the content.")
@click.option("--fault", default="none", show_default=True,
              help="none, close-mid-stream, malformed, hang, status:CODE, first-status:CODE, echo-auth (401 "
                   "echoing the request's credentials, after the first request).")
@click.option("--model", "model_name", default="mock", show_default=True)
@click.option("--eos-after", type=int, default=0, show_default=True,
              help="End answers after this many tokens (finish_reason stop) unless the request sets ignore_eos or a "
                   "larger min_tokens; 0: always max_tokens.")
@click.option("--cache-block", type=int, default=0, show_default=True,
              help="Simulate a prefix cache with blocks of this many prompt words: usage.prompt_tokens_details."
                   "cached_tokens counts the words of leading blocks seen before (0: no cache, cached_tokens 0).")
@click.option("--precise-timers/--no-precise-timers", default=True, show_default=True,
              help="Sub-millisecond send times (spins briefly before each deadline).")
def mock_server_cmd(**options):
    """An OpenAI-compatible streaming mock server with known timings, for tests and demos."""
    from evs_perf.mock_server import serve_forever

    serve_forever(**options)
