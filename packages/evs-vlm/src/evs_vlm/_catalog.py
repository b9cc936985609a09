"""The benchmarks evs-vlm registers: name -> (lazy target, tags, one-line description). Plain data."""

_M = "evs_vlm.benchmarks"

BENCHMARKS = {
    "mmmu": (f"{_M}.mcq:MMMU", ["multimodal", "knowledge", "multiple-choice"], "MMMU val: 30 college subjects, up to 7 images"),
    "mm_bench": (f"{_M}.mcq:MMBench", ["multimodal", "knowledge", "multiple-choice"], "MMBench dev, en and cn"),
    "mm_star": (f"{_M}.mcq:MMStar", ["multimodal", "knowledge", "multiple-choice"], "MMStar val: vision-indispensable MCQ"),
    "ai2d": (f"{_M}.mcq:AI2D", ["multimodal", "knowledge", "multiple-choice"], "AI2D test: science diagrams"),
    "science_qa": (f"{_M}.mcq:ScienceQA", ["multimodal", "knowledge", "multiple-choice"], "ScienceQA test, image questions"),
    "seed_bench_2_plus": (f"{_M}.mcq:SEEDBench2Plus", ["multimodal", "reasoning", "multiple-choice"],
                          "SEED-Bench-2-Plus: text-rich charts, maps, web pages"),
    "math_vista": (f"{_M}.math:MathVista", ["multimodal", "math"], "MathVista testmini: math over figures"),
    "math_vision": (f"{_M}.math:MathVision", ["multimodal", "math"], "MathVision test: competition math with figures"),
    "chartqa": (f"{_M}.vqa:ChartQA", ["multimodal", "chart", "qa"], "ChartQA test, relaxed accuracy"),
    "docvqa": (f"{_M}.vqa:DocVQA", ["multimodal", "document", "qa"], "DocVQA validation, ANLS"),
    "infovqa": (f"{_M}.vqa:InfoVQA", ["multimodal", "document", "qa"], "InfographicVQA validation, ANLS"),
    "ocr_bench": (f"{_M}.vqa:OCRBench", ["multimodal", "ocr", "qa"], "OCRBench: ten OCR tasks"),
    "real_world_qa": (f"{_M}.vqa:RealWorldQA", ["multimodal", "qa"], "RealWorldQA: real-world spatial questions"),
    "pope": (f"{_M}.yesno:POPE", ["multimodal", "hallucination", "yes-no"], "POPE: object hallucination, F1"),
    "hallusion_bench": (f"{_M}.yesno:HallusionBench", ["multimodal", "hallucination", "yes-no"],
                        "HallusionBench: aAcc, fAcc, qAcc"),
    "general_vmcq": (f"{_M}.custom:GeneralVMCQ", ["multimodal", "custom", "multiple-choice"],
                     "your own image multiple-choice data"),
    "general_vqa": (f"{_M}.custom:GeneralVQA", ["multimodal", "custom", "qa"],
                    "your own image questions (OpenAI messages JSONL)"),
}
