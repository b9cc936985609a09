"""The image-metric contract every evs-aigc metric implements.

A metric is built once per run (``Metric(weights=..., device=...)``) and scores lists of PIL
images: ``per_image`` metrics return one float per image in order, ``distribution`` metrics (FID,
KID) return the value of the whole set as ``[value]``. ``weights`` is a local folder (read as is,
never a download: the hub libraries are put in offline mode for it) or a hub id; a local-looking
path that does not exist stops the run with one line (:class:`~evs_core.errors.ConfigError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from evs_core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import PIL.Image


class ImageMetric:
    name: str = ""                 # registered name, e.g. "pickscore"
    kind: str = "per_image"        # "per_image" (one float per image) or "distribution" (fid, kid: one value per set)
    needs_prompt: bool = True      # text-image metrics
    needs_reference: bool = False  # psnr, ssim, lpips: a reference image per sample
    higher_is_better: bool = True
    default_weights: str | None = None   # hub id used when the user gives none

    def __init__(self, weights: str | None = None, device: str = "cpu", **options: Any) -> None:
        # weights: a local folder (never a download; offline guard) or a hub id; a missing folder -> ConfigError one line
        self.weights = resolve_weights(self.name, weights if weights is not None else self.default_weights)
        self.device = device
        self.options = dict(options)

    def score(self, images: list[PIL.Image.Image], prompts: list[str] | None = None,
              references: list[PIL.Image.Image] | None = None) -> list[float]:
        # per_image: one float per image, same order. distribution: the set's value as [value].
        raise NotImplementedError

    # -- helpers shared by the metrics ---------------------------------------------------------
    @property
    def weights_are_local(self) -> bool:
        return self.weights is not None and Path(self.weights).is_dir()

    def check_inputs(self, images: list[Any], prompts: list[str] | None,
                     references: list[Any] | None) -> None:
        """One clear line when a metric is called without what it needs."""
        if self.needs_prompt and (prompts is None or len(prompts) != len(images)):
            raise ValueError(f"{self.name} needs one prompt per image")
        if self.needs_reference and (references is None or len(references) != len(images)):
            raise ValueError(f"{self.name} needs one reference image per image")


def looks_local(weights: str) -> bool:
    """A path (absolute, relative with ./ or ../, ~, or an existing file system entry), not a hub id."""
    s = str(weights)
    return s.startswith(("/", "./", "../", "~", "\\")) or Path(s).expanduser().exists() or s.count("/") > 1


def resolve_weights(metric: str, weights: str | None) -> str | None:
    """The weights to load: an existing local folder/file as an absolute path, or a hub id as given.

    A local-looking path that does not exist is a :class:`ConfigError` naming the metric.
    """
    if weights is None:
        return None
    p = Path(str(weights)).expanduser()
    if p.exists():
        return str(p.resolve())
    if looks_local(str(weights)):
        raise ConfigError(f"weights for metric '{metric}' not found: {weights} does not exist "
                          "(give a local folder or a hub id)")
    return str(weights)


class offline_for:
    """Context manager: hub libraries offline while loading from a local path (no download, no lookup)."""

    _VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "DIFFUSERS_OFFLINE")

    def __init__(self, path: str | None) -> None:
        self.local = path is not None and Path(path).exists()
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> offline_for:
        import os

        if self.local:
            for k in self._VARS:
                self.saved[k] = os.environ.get(k)
                os.environ[k] = "1"
            try:  # huggingface_hub reads the variable at import: set its constant too when loaded
                import sys

                consts = sys.modules.get("huggingface_hub.constants")
                if consts is not None:
                    self.saved["_hub_const"] = consts.HF_HUB_OFFLINE
                    consts.HF_HUB_OFFLINE = True
            except Exception:  # noqa: BLE001 - best effort
                pass
        return self

    def __exit__(self, *exc: Any) -> None:
        import os
        import sys

        for k, v in self.saved.items():
            if k == "_hub_const":
                consts = sys.modules.get("huggingface_hub.constants")
                if consts is not None:
                    consts.HF_HUB_OFFLINE = v
                continue
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
