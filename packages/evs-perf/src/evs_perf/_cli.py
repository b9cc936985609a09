"""The ``evs perf`` click group. Standard library and click only: the run is imported lazily."""

from __future__ import annotations

import click

_CTX = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def _opts(fn):
    options = [
        # endpoint
        click.option("--url", help="Endpoint URL or base URL (http://host:8000 or …/v1 or …/v1/chat/completions)."),
        click.option("--api", default="chat", show_default=True,
                     help="Request format: chat (alias openai), completions, embeddings, rerank, or a plugin's."),
        click.option("--model", default=None, help="Model name sent in requests (default: the server's first model)."),
        click.option("--api-key", envvar="OPENAI_API_KEY", default=None, help="Bearer token (env OPENAI_API_KEY)."),
        click.option("--headers", "headers", multiple=True,
                     help="Extra HTTP header 'Name: value' (repeatable) or a JSON object."),
        # load
        click.option("--concurrency", "--parallel", "-c", "concurrency", default="1", show_default=True,
                     help="Requests in flight (a comma list makes a sweep). With --rate: a cap (0 = none)."),
        click.option("--requests", "--number", "-n", "requests", default=None,
                     help="Measured requests per point (a list pairs with --concurrency/--rate). "
                          "Default: 4 x concurrency, or 1 in open loop x rate x 10s."),
        click.option("--rate", default=None,
                     help="Arrival rate in req/s (a list makes a sweep; 'inf' sends all at once). None = closed loop."),
        click.option("--arrival", type=click.Choice(["poisson", "constant"]), default="poisson", show_default=True,
                     help="Arrival process with --rate."),
        click.option("--duration", type=float, default=None, help="Seconds to send requests per point (instead of a count)."),
        click.option("--warmup", type=int, default=None,
                     help="Warm-up requests before each point, excluded from metrics (default: = concurrency, at most 64)."),
        click.option("--ramp-up", type=float, default=0.0, show_default=True,
                     help="Seconds over which closed-loop slots start (during warm-up)."),
        click.option("--workers", default="auto", show_default=True,
                     help="Client processes (auto: 1, or 2 from concurrency 128 or rate 300 on a multi-core machine)."),
        click.option("--loop", type=click.Choice(["auto", "asyncio", "uvloop"]), default="auto", show_default=True,
                     help="Client event loop (auto: uvloop when installed, pip install \"evs-perf[uvloop]\")."),
        # data
        click.option("--dataset", default="random", show_default=True,
                     help="random, random_vl, openqa, sharegpt, line_by_line, custom, embeddings, rerank, or a plugin's."),
        click.option("--dataset-path", default=None, help="Local data file (never downloaded)."),
        click.option("--tokenizer", "--tokenizer-path", "tokenizer", default=None,
                     help="Local tokenizer (tokenizer.json or a folder): exact random lengths; counts tokens when the "
                          "server sends no usage."),
        click.option("--input-tokens", "--random-input-len", "input_tokens", default="128", show_default=True,
                     help="Input tokens of random prompts: N or MIN-MAX."),
        click.option("--max-tokens", "--output-tokens", "--random-output-len", "max_tokens", default="256",
                     show_default=True, help="Output tokens requested (max_tokens): N or MIN-MAX."),
        click.option("--min-tokens", type=int, default=None, help="Lower bound of output tokens (range MIN..max-tokens)."),
        click.option("--prefix-tokens", "--random-prefix-len", "prefix_tokens", type=int, default=0, show_default=True,
                     help="A shared prefix of this many tokens in every random prompt."),
        click.option("--image-count", type=int, default=1, show_default=True, help="random_vl: images per prompt."),
        click.option("--image-size", default="224x224", show_default=True, help="random_vl: WIDTHxHEIGHT."),
        click.option("--num-prompts", type=int, default=None, help="Distinct prompts to build (default: one per request, at most 2000)."),
        # request
        click.option("--stream/--no-stream", default=True, show_default=True, help="Stream responses (SSE)."),
        click.option("--extra-body", default=None, help='JSON merged into every request body, e.g. \'{"ignore_eos": true}\'.'),
        click.option("--ignore-eos", is_flag=True, help='Shortcut for --extra-body \'{"ignore_eos": true}\'.'),
        click.option("--temperature", type=float, default=None),
        click.option("--top-p", type=float, default=None),
        click.option("--top-k", type=int, default=None),
        click.option("--connect-timeout", type=float, default=10.0, show_default=True, help="Seconds to connect."),
        click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds per request, in total."),
        click.option("--read-timeout", type=float, default=None,
                     help="Seconds without a byte from the server before a request fails (default: --timeout)."),
        # run
        click.option("--output-dir", default="outputs/perf", show_default=True, help="Where run folders are written."),
        click.option("--name", default=None, help="Run folder name (default: timestamp_model)."),
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
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.group("perf", invoke_without_command=True, context_settings=_CTX)
@_opts
@click.pass_context
def perf(ctx, **options):
    """Stress-test an LLM serving endpoint: TTFT, TPOT, ITL, latency, throughput, goodput.

    \b
    evs perf --url http://127.0.0.1:8000 --model qwen -c 1,16,64 --max-tokens 256
    evs perf --url http://127.0.0.1:8000 --rate 5,10,20 --slo 'ttft_p99<=500ms,tpot_p99<=50ms'
    evs perf mock-server --ttft-ms 50 --itl-ms 10

    Metrics are defined in docs/perf.md. A point whose client lagged is marked CLIENT-BOUND.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not options["url"]:
        raise click.UsageError("--url is required (try `evs perf mock-server` for a local server)")
    from evs_perf.run import run_cli

    run_cli(options, pm=ctx.obj)


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
              help="none, close-mid-stream, malformed, hang, status:CODE, first-status:CODE.")
@click.option("--model", "model_name", default="mock", show_default=True)
@click.option("--precise-timers/--no-precise-timers", default=True, show_default=True,
              help="Sub-millisecond send times (spins briefly before each deadline).")
def mock_server_cmd(**options):
    """An OpenAI-compatible streaming mock server with known timings, for tests and demos."""
    from evs_perf.mock_server import serve_forever

    serve_forever(**options)
