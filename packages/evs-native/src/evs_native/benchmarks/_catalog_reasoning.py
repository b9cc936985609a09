"""Catalogue of code, instruction-following, math, judged-QA and long-context benchmarks."""

BENCHMARKS: dict = {
    "humaneval": ("evs_native.benchmarks.humaneval:HumanEval", ["code", "python"],
                  "HumanEval: Python functions from docstrings, unit tests in a sandbox (pass@k)"),
    "live_code_bench": ("evs_native.benchmarks.live_code_bench:LiveCodeBench", ["code", "python"],
                        "LiveCodeBench code generation: contest problems, stdin/stdout and functional tests"),
    "ifeval": ("evs_native.benchmarks.ifeval:IFEval", ["instruction-following"],
               "IFEval: verifiable instructions, prompt/instruction-level strict and loose accuracy"),
    "math_500": ("evs_native.benchmarks.math_500:Math500", ["math", "reasoning"],
                 "MATH-500: competition math by level, math-verify equivalence (optional judge)"),
    "aime24": ("evs_native.benchmarks.math_500:AIME24", ["math", "reasoning"],
               "AIME 2024: 30 olympiad problems, integer answers, math-verify"),
    "aime25": ("evs_native.benchmarks.math_500:AIME25", ["math", "reasoning"],
               "AIME 2025 I and II: 30 olympiad problems, math-verify"),
    "simple_qa": ("evs_native.benchmarks.simple_qa:SimpleQA", ["knowledge", "qa", "llm-judge"],
                  "SimpleQA: short factual questions graded CORRECT/INCORRECT/NOT_ATTEMPTED by an LLM judge"),
    "needle_haystack": ("evs_native.benchmarks.needle_haystack:NeedleHaystack", ["long-context", "retrieval"],
                        "Needle in a haystack: context length x depth grid, heatmap PNG"),
}
