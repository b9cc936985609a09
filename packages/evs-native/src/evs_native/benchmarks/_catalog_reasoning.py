"""Catalogue of code, instruction-following, math, judged-QA and long-context benchmarks."""

BENCHMARKS: dict = {
    "humaneval": ("evs_native.benchmarks.humaneval:HumanEval",
        ["code", "python"],
        "HumanEval: Python functions from docstrings, unit tests in a sandbox (pass@k)",
        {"num_samples": 164, "subsets": ["openai_humaneval"]}),
    "live_code_bench": ("evs_native.benchmarks.live_code_bench:LiveCodeBench",
        ["code", "python"],
        "LiveCodeBench code generation: contest problems, stdin/stdout and functional tests",
        {"num_samples": None, "subsets": [
            "release_latest", "release_v1", "release_v2", "release_v3", "release_v4", "release_v5",
            "release_v6"
        ]}),
    "ifeval": ("evs_native.benchmarks.ifeval:IFEval",
        ["instruction-following"],
        "IFEval: verifiable instructions, prompt/instruction-level strict and loose accuracy",
        {"num_samples": 541, "subsets": ["default"]}),
    "math_500": ("evs_native.benchmarks.math_500:Math500",
        ["math", "reasoning"],
        "MATH-500: competition math by level, math-verify equivalence (optional judge)",
        {"num_samples": 500, "subsets": ["Level 1", "Level 2", "Level 3", "Level 4", "Level 5"]}),
    "simple_qa": ("evs_native.benchmarks.simple_qa:SimpleQA",
        ["knowledge", "qa", "llm-judge"],
        "SimpleQA: short factual questions graded CORRECT/INCORRECT/NOT_ATTEMPTED by an LLM judge",
        {"num_samples": 4326, "subsets": ["default"]}),
    "needle_haystack": ("evs_native.benchmarks.needle_haystack:NeedleHaystack",
        ["long-context", "retrieval"],
        "Needle in a haystack: context length x depth grid, heatmap PNG",
        {"num_samples": None, "subsets": ["default"]}),
}
