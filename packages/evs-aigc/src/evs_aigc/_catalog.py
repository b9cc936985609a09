"""The benchmarks and model types evs-aigc registers. Plain data: nothing is imported from here."""

_B = "evs_aigc.benchmarks"

BENCHMARKS = {
    "tifa160": (f"{_B}.t2i:TIFA160", ["text-to-image"], "TIFA-160: 160 prompts, PickScore"),
    "genai_bench": (f"{_B}.t2i:GenAIBench", ["text-to-image"], "GenAI-Bench-1600: basic/advanced prompts, VQAScore"),
    "evalmuse": (f"{_B}.t2i:EvalMuse", ["text-to-image"], "EvalMuse: fine-grained alignment, FGA-BLIP2"),
    "hpdv2": (f"{_B}.t2i:HPDv2", ["text-to-image"], "HPD v2 prompts by category, HPSv2.1"),
    "general_t2i": (f"{_B}.t2i:GeneralT2I", ["text-to-image", "custom"],
                    "your own prompts (and images), any registered image metric"),
    "gedit": (f"{_B}.gedit:GEdit", ["image-editing"],
              "GEdit-Bench: 11 edit categories, VLM judge (semantic consistency, perceptual quality)"),
}

MODELS = {
    "diffusers": ("evs_aigc.generators:DiffusersPipeline",
                  "local diffusers text-to-image (or image-edit) pipeline folder or hub id"),
    "openai_images": ("evs_aigc.generators:OpenAIImages",
                      "OpenAI-compatible images API: /v1/images/generations and /v1/images/edits"),
    "image_folder": ("evs_aigc.generators:ImageFolder",
                     "pre-generated images from a folder (by sample id) or the rows' image_path: score only"),
}
