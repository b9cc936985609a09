"""Catalogue of function-calling and agent benchmarks."""

BENCHMARKS: dict = {
    "general_fc": ("evs_native.benchmarks.function_calling:GeneralFC",
        ["function-calling", "agent", "custom"],
        "Your own tool schemas and labels: tool-call decision F1 and JSON-schema validity (EvalScope's general_fc)",
        {"num_samples": None, "subsets": ["default"]}),
}
