"""EvalScope's ``evalscope perf`` arguments (current release) and what ``evs perf`` does with each.

Every name is either accepted (with EvalScope's meaning: :data:`ACCEPTED` maps it to the evs
option that implements it) or refused with one line saying what to use instead
(:data:`REFUSED`). Standard library only: imported by ``evs perf --help``.
"""

from __future__ import annotations

#: EvalScope argument -> the evs perf option that takes it (same name where they agree)
ACCEPTED = {
    "model": "--model", "api": "--api", "tokenizer-path": "--tokenizer", "url": "--url", "headers": "--headers",
    "api-key": "--api-key", "connect-timeout": "--connect-timeout", "read-timeout": "--read-timeout",
    "total-timeout": "--timeout", "no-test-connection": "--no-test-connection", "number": "--requests",
    "parallel": "--concurrency", "rate": "--rate", "warmup-num": "--warmup", "open-loop": "--open-loop",
    "sleep-interval": "--sleep-interval", "num-workers": "--workers", "data-source": "--data-source", "duration": "--duration", "visualizer": "--visualizer", "name": "--name",
    "max-prompt-length": "--max-prompt-length", "min-prompt-length": "--min-prompt-length",
    "prefix-length": "--prefix-tokens", "prompt": "--prompt", "query-template": "--query-template",
    "apply-chat-template": "--apply-chat-template", "image-width": "--image-width",
    "image-height": "--image-height", "image-format": "--image-format", "image-num": "--image-count",
    "outputs-dir": "--output-dir", "no-timestamp": "--no-timestamp", "dataset": "--dataset",
    "dataset-path": "--dataset-path", "frequency-penalty": "--frequency-penalty",
    "repetition-penalty": "--repetition-penalty", "logprobs": "--logprobs", "max-tokens": "--max-tokens",
    "min-tokens": "--min-tokens", "n-choices": "--n-choices", "seed": "--seed", "stop": "--stop",
    "stop-token-ids": "--stop-token-ids", "stream": "--stream", "temperature": "--temperature", "top-p": "--top-p",
    "top-k": "--top-k", "extra-args": "--extra-body", "multi-turn": "--multi-turn", "min-turns": "--min-turns",
    "max-turns": "--max-turns", "dataset-args": "--dataset-args",
}

_SLA = ("evs searches SLOs itself: give a sweep and --slo 'ttft_p99<=500ms,tpot_p99<=50ms' "
        "(bisection between the sweep points, --slo-refine N)")
_LOCAL = "evs perf measures a served endpoint: serve the model with vLLM or SGLang and pass its --url"

#: EvalScope argument -> (is a flag, the one-line reason and what to use instead)
REFUSED = {
    "attn-implementation": (False, _LOCAL),
    "port": (False, _LOCAL),
    "sla-auto-tune": (True, _SLA), "sla-variable": (False, _SLA), "sla-params": (False, _SLA),
    "sla-num-runs": (False, _SLA), "sla-upper-bound": (False, _SLA), "sla-lower-bound": (False, _SLA),
    "sla-fixed-parallel": (False, _SLA), "sla-number-multiplier": (False, _SLA),
    "db-commit-interval": (False, "evs writes records.sqlite once per point, after the measured window; "
                                  "there is nothing to tune"),
    "queue-size-multiplier": (False, "evs has no request queue: --concurrency caps requests in flight"),
    "in-flight-task-multiplier": (False, "evs has no task queue: --concurrency caps requests in flight"),
    "log-every-n-query": (False, "evs shows a live progress line (--no-progress hides it); every request is in "
                                 "records.sqlite"),
    "debug": (True, "every request's outcome and error message is in records.sqlite; summaries give "
                    "error_examples"),
    "wandb-api-key": (False, "keys on a command line leak into shell history and process lists: set WANDB_API_KEY "
                             "and use --visualizer wandb"),
    "swanlab-api-key": (False, "keys on a command line leak into shell history and process lists: set "
                               "SWANLAB_API_KEY and use --visualizer swanlab"),
    "swanlab-host": (False, "set SWANLAB_HOST in the environment"),
    "enable-progress-tracker": (True, "progress is shown live on the terminal; --no-progress hides it"),
    "image-patch-size": (False, "evs reports the server's usage.prompt_tokens for images instead of estimating "
                                "image tokens on the client"),
    "dataset-offset": (False, "use --seed to draw different random prompts; --prefix-tokens 0 (default) keeps "
                              "prefixes unique"),
    "tokenize-prompt": (True, "use --api completions with --tokenizer: random prompts are corrected until they "
                              "re-encode to the asked length (input_length_exact)"),
    "multi-turn-args": (False, "use --multi-turn with --min-turns/--max-turns and --input-tokens for each turn's "
                               "new text (EvalScope's swe_smith construction is not available)"),
}
