"""evs-perf's plugin module: adds evs-perf's hooks, the ``evs perf`` command, and the built-in
perf datasets and APIs.

Import-light by rule: only the standard library, click, pluggy and evs-core are imported here.
"""

from __future__ import annotations

from evs_core.hookspecs import hookimpl


@hookimpl
def evs_addhooks(pluginmanager):
    from evs_perf import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def evs_register_commands(cli):
    from evs_perf._cli import perf

    cli.add_command(perf)


@hookimpl
def evs_perf_register_datasets(register):
    register("random", "evs_perf.datasets:RandomDataset", description="random prompts with exact input token lengths")
    register("random_vl", "evs_perf.datasets:RandomVLDataset", description="random prompts plus generated images")
    register("openqa", "evs_perf.datasets:OpenQADataset", description="jsonl with a 'question' field per line")
    register("sharegpt", "evs_perf.datasets:ShareGPTDataset", description="ShareGPT json/jsonl conversations")
    register("line_by_line", "evs_perf.datasets:LineByLineDataset", description="one prompt per line of a text file")
    register("custom", "evs_perf.datasets:CustomDataset", description="jsonl with 'prompt' or 'messages' (+ max_tokens)")
    register("embeddings", "evs_perf.datasets:EmbeddingsDataset", description="texts for the embeddings API")
    register("rerank", "evs_perf.datasets:RerankDataset", description="query + documents for the rerank API")
    register("random_multi_turn", "evs_perf.multiturn:RandomMultiTurnDataset",
             description="generated conversations (--min-turns..--max-turns), whole history per turn")
    register("longalpaca", "evs_perf.hub_datasets:LongAlpacaDataset",
             description="long instructions (LongAlpaca-12k: local json/jsonl, or hub id Yukang/LongAlpaca-12k)")
    register("flickr8k", "evs_perf.hub_datasets:Flickr8kDataset",
             description="describe an image (local folder/jsonl, or hub id clip-benchmark/wds_flickr8k)")
    register("kontext_bench", "evs_perf.hub_datasets:KontextBenchDataset",
             description="image + editing instruction (local jsonl/folder, or hub id black-forest-labs/kontext-bench)")
    register("random_embedding", "evs_perf.hub_datasets:RandomEmbeddingDataset",
             description="one random text per embeddings request")
    register("random_embedding_batch", "evs_perf.hub_datasets:RandomEmbeddingBatchDataset",
             description="--embedding-batch random texts per embeddings request")
    register("workload_trace", "evs_perf.trace:WorkloadTraceDataset",
             description="trace replay: Mooncake JSONL (timestamp ms, input/output_length, hash_ids)")
    register("speed_benchmark", "evs_perf.speed:SpeedBenchmarkDataset",
             description="prefill/decode speed by input length (1, 6144, 14336, 30720), one request at a time")
    register("speed_benchmark_long", "evs_perf.speed:SpeedBenchmarkLongDataset",
             description="speed benchmark at 63488 and 129024 input tokens")
    register("sharegpt_multi_turn", "evs_perf.multiturn:ShareGPTMultiTurnDataset",
             description="ShareGPT conversations replayed turn by turn with the server's own answers")


@hookimpl
def evs_perf_register_apis(register):
    register("chat", "evs_perf.apis:ChatAPI", description="OpenAI chat completions (/v1/chat/completions)")
    register("openai", "evs_perf.apis:ChatAPI", description="alias of chat (EvalScope's name)")
    register("completions", "evs_perf.apis:CompletionsAPI", description="OpenAI completions (/v1/completions)")
    register("embeddings", "evs_perf.apis:EmbeddingsAPI", description="OpenAI embeddings (/v1/embeddings)")
    register("rerank", "evs_perf.apis:RerankAPI", description="rerank (/v1/rerank, Jina/vLLM style)")
    # EvalScope's API names
    register("openai_embedding", "evs_perf.apis:EmbeddingsAPI", description="alias of embeddings (EvalScope's name)")
    register("embedding", "evs_perf.apis:EmbeddingsAPI", description="alias of embeddings (EvalScope's name)")
    register("openai_rerank", "evs_perf.apis:RerankAPI", description="alias of rerank (EvalScope's name)")
