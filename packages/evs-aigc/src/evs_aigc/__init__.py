"""evs-aigc: text-to-image and image-editing evaluation for evs.

Import-light: the generators, benchmarks and metrics import torch, diffusers and transformers
only inside the functions that need them.
"""

__version__ = "0.1.0"
