"""Helpers shared by the learned metrics: where weights come from, input checks, image tensors."""

from __future__ import annotations

import os
from pathlib import Path

from evs_core.errors import ConfigError, require

#: the mean and std of OpenAI's CLIP training images, used by CLIP, open_clip and BLIP preprocessing
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def _looks_like_path(text: str) -> bool:
    return (
        os.path.isabs(text)
        or text.startswith((".", "~"))
        or text.count("/") > 1
        or "\\" in text
        or Path(text).suffix in (".pt", ".pth", ".bin", ".safetensors")
    )


def resolve_weights(metric: str, weights: str | None, default: str | None) -> tuple[Path | None, str | None]:
    """Return ``(local_folder, None)`` or ``(None, hub_id)`` for a metric's ``weights`` option.

    A folder that exists is used as is and nothing is downloaded for it. Something that looks like
    a path but does not exist is a :class:`ConfigError`; anything else is a hub id.
    """
    value = default if weights in (None, "") else str(weights)
    if value is None:
        raise ConfigError(f"metric {metric}: no weights given (a local folder or a hub id)")
    path = Path(value).expanduser()
    if path.is_dir():
        return path, None
    if path.exists():
        raise ConfigError(f"metric {metric}: weights {value!r} is a file; give the folder that holds it")
    if _looks_like_path(value):
        raise ConfigError(f"metric {metric}: weights folder {value!r} does not exist")
    return None, value


# the image-processor settings a ``save_pretrained`` folder carries: transformers 4 writes them to
# preprocessor_config.json, transformers 5's processors nest them in processor_config.json
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")


def has_processor_files(folder: Path) -> bool:
    return any((folder / name).is_file() for name in PROCESSOR_FILES)


def local_file(metric: str, folder: Path, name: str, hint: str = "") -> Path:
    path = folder / name
    if not path.is_file():
        extra = f" ({hint})" if hint else ""
        raise ConfigError(f"metric {metric}: weights folder {str(folder)!r} has no {name}{extra}")
    return path


def hub_file(metric: str, repo_id: str, filename: str) -> Path:
    """Download one file of a hub repository (online use only; never called for a local folder)."""
    hub = require("huggingface_hub", f"metric {metric}", "evs-aigc[metrics]")
    try:
        return Path(hub.hf_hub_download(repo_id, filename))
    except Exception as exc:  # network, missing repo or file
        raise ConfigError(f"metric {metric}: cannot fetch {filename} from hub repo {repo_id!r}: {exc}") from exc


def check_inputs(metric: str, images: list, prompts=None, references=None, *, prompt=False, reference=False) -> None:
    """One clear line when the lists a metric needs are missing or of the wrong length."""
    if prompt:
        if prompts is None:
            raise ConfigError(f"metric {metric} needs a prompt per image")
        if len(prompts) != len(images):
            raise ConfigError(f"metric {metric}: {len(images)} images but {len(prompts)} prompts")
        for prompt_text in prompts:
            if not isinstance(prompt_text, str):
                raise ConfigError(f"metric {metric}: a prompt is {type(prompt_text).__name__}, not text")
    if reference:
        if references is None:
            raise ConfigError(f"metric {metric} needs a reference image per image")
        if len(references) != len(images):
            raise ConfigError(f"metric {metric}: {len(images)} images but {len(references)} references")


def torch_device(metric: str, device: str):
    torch = require("torch", f"metric {metric}", "evs-aigc[metrics]")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"metric {metric}: bad device {device!r}") from exc


def unknown_options(metric: str, options: dict, allowed: tuple[str, ...]) -> None:
    from evs_core.errors import suggest

    for key in options:
        if key not in allowed:
            raise ConfigError(f"metric {metric}: unknown option {key!r}{suggest(key, allowed)}")


def pil_to_tensor(image):
    """An RGB PIL image as a float32 CHW tensor in [0, 1] (what torchvision's ToTensor gives)."""
    import numpy as np
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).to(torch.float32).div(255.0)


def resize_center_crop(image, size: int):
    """torchvision's ``Resize(size, BICUBIC)`` then ``CenterCrop(size)`` on a PIL image (shorter side to
    ``size``, the longer ``int(size * long / short)``; crop offsets ``int(round((side - size) / 2))``)."""
    from PIL import Image

    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    if short != size:
        new_long = int(size * long / short)
        new = (size, new_long) if width <= height else (new_long, size)
        image = image.resize(new, resample=Image.Resampling.BICUBIC)
        width, height = image.size
    if width < size or height < size:
        raise ValueError(f"image {width}x{height} smaller than the crop {size}")
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))
