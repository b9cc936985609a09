"""evs-core's own plugin: the built-in models, dataset loaders, filters and metrics."""

from evs_core.hookspecs import hookimpl


@hookimpl
def evs_register_models(register):
    register("openai_api", "evs_core.models:OpenAIAPIModel", description="OpenAI-compatible chat/completions API")
    register("mock", "evs_core.models:MockModel", description="deterministic offline model for tests")


@hookimpl
def evs_register_dataset_loaders(register):
    register("jsonl", "evs_core.data:read_jsonl", suffixes=[".jsonl"])
    register("json", "evs_core.data:read_json", suffixes=[".json"])
    register("csv", "evs_core.data:read_csv", suffixes=[".csv"])
    register("tsv", "evs_core.data:read_tsv", suffixes=[".tsv"])
    register("parquet", "evs_core.data:read_parquet", suffixes=[".parquet"])


@hookimpl
def evs_register_filters(register):
    register("strip_think", "evs_core.filters:strip_think")
    register("strip", "evs_core.filters:strip")
    register("lower", "evs_core.filters:lower")
    register("last_line", "evs_core.filters:last_line")
    register("regex", "evs_core.filters:regex")
    register("sub", "evs_core.filters:sub")
    register("capitalize", "evs_core.filters:capitalize")


@hookimpl
def evs_register_metrics(register):
    register("exact_match", "evs_core.metrics:exact_match")
    register("exact_match_normalized", "evs_core.metrics:exact_match_normalized")
