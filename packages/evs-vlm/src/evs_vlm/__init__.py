"""evs-vlm: vision-language benchmarks over OpenAI image messages, and local VLMs."""

__version__ = "0.1.0"
