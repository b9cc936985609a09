"""Find image metrics by name: the registered names of :mod:`evs_aigc.metrics._catalog`, and
EvalScope's metric names as aliases (``PickScore`` -> ``pickscore``), so EvalScope configs run."""

from __future__ import annotations

import importlib
from typing import Any

from evs_core.errors import ConfigError, suggest

#: EvalScope's scorer names -> evs's registered names.
ALIASES = {
    "CLIPScore": "clip_score", "clipscore": "clip_score",
    "PickScore": "pickscore", "pick_score": "pickscore",
    "HPSv2Score": "hpsv2", "hpsv2_score": "hpsv2",
    "HPSv2.1Score": "hpsv2.1", "hps_v2_1_score": "hpsv2.1", "hpsv21": "hpsv2.1",
    "ImageRewardScore": "image_reward", "image_reward_score": "image_reward",
    "MPS": "mps",
    "VQAScore": "vqascore", "vqa_model_score": "vqascore", "vqa_score": "vqascore",
    "FGA_BLIP2Score": "fga_blip2", "fga_blip2_score": "fga_blip2",
    "BLIPv2Score": "blipv2", "blipv2_score": "blipv2",
    "PSNR": "psnr", "SSIM": "ssim", "LPIPS": "lpips", "FID": "fid", "KID": "kid",
}


def catalog() -> dict[str, str]:
    from evs_aigc.metrics._catalog import METRICS

    return dict(METRICS)


def canonical(name: str) -> str:
    """The registered name of ``name`` (itself or an alias); ConfigError naming the nearest one."""
    known = catalog()
    if name in known:
        return name
    alias = ALIASES.get(name)
    if alias is not None and alias in known:
        return alias
    raise ConfigError(f"unknown image metric '{name}'{suggest(name, [*known, *ALIASES])} "
                      f"(known: {', '.join(sorted(known))})")


def metric_class(name: str) -> Any:
    """The metric class registered under ``name`` (imported now)."""
    target = catalog()[canonical(name)]
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_metric(name: str, **options: Any) -> Any:
    """An instance of the metric ``name`` built with ``options`` (weights, device, …)."""
    return metric_class(name)(**options)
