"""Catalogue of function-calling and agent benchmarks."""

BENCHMARKS: dict = {
    "general_fc": ("evs_native.benchmarks.function_calling:GeneralFC",
        ["function-calling", "agent", "custom"],
        "Your own tool schemas and labels: tool-call decision F1 and JSON-schema validity (EvalScope's general_fc)",
        {"num_samples": None, "subsets": ["default"]}),
    "tool_bench": ("evs_native.benchmarks.function_calling:ToolBench",
        ["function-calling", "agent", "reasoning"],
        "ToolBench-Static: the next ReAct tool call or final answer, Act.EM / argument F1 / HalluRate / Rouge-L",
        {"num_samples": None, "subsets": ["in_domain", "out_of_domain"]}),
    "bfcl_v3": ("evs_native.benchmarks.function_calling:BFCLV3",
        ["function-calling", "agent"],
        "BFCL v3 through bfcl-eval's AST and multi-turn checkers, with BFCL's NON_LIVE/LIVE/MULTI_TURN/OVERALL rows",
        {"num_samples": 4441, "subsets": [
            "simple", "multiple", "parallel", "parallel_multiple", "java", "javascript", "live_simple",
            "live_multiple", "live_parallel", "live_parallel_multiple", "irrelevance", "live_relevance",
            "live_irrelevance", "multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
            "multi_turn_long_context"]}),
    "tau_bench": ("evs_native.benchmarks.tau_bench:TauBench",
        ["agent", "function-calling", "reasoning"],
        "τ-bench: agent, simulated user (a second model) and domain tools; τ-bench's loop, reward and pass^k",
        {"num_samples": None, "subsets": ["airline", "retail"]}),
}
