"""`evs aigc`: the image metrics evs-aigc knows, and scoring a folder of images without a run."""

from __future__ import annotations

import json

import click


@click.group("aigc", help="Text-to-image and image-edit evaluation: image metrics (`evs eval` runs the benchmarks).")
def aigc_group() -> None:
    pass


@aigc_group.command("metrics", help="List the registered image metrics (EvalScope's names are accepted as aliases).")
def metrics_cmd() -> None:
    from evs_aigc.metrics.registry import ALIASES, catalog

    aliases: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    for name, target in catalog().items():
        extra = f"  (also: {', '.join(aliases[name])})" if name in aliases else ""
        click.echo(f"{name:14s} {target}{extra}")


@aigc_group.command("score", help="Score image files with one metric: prompts from a JSONL file "
                                  "({\"image_path\", \"prompt\"} rows); prints one JSON line per image.")
@click.option("--metric", required=True, help="registered metric name (see `evs aigc metrics`)")
@click.option("--prompts", "prompts_file", required=True, type=click.Path(dir_okay=False),
              help="JSONL rows with image_path (and prompt, reference_image_path when the metric needs them)")
@click.option("--weights", default=None, help="metric weights: a local folder or a hub id")
@click.option("--device", default="cpu", show_default=True)
def score_cmd(metric: str, prompts_file: str, weights: str | None, device: str) -> None:
    from pathlib import Path

    from evs_core.errors import ConfigError

    from evs_aigc.images import load_rgb
    from evs_aigc.metrics.registry import make_metric

    path = Path(prompts_file)
    if not path.is_file():
        raise ConfigError(f"--prompts: no such file: {path}")
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise ConfigError(f"{path}: line {i} is not JSON") from None
        if "image_path" not in row:
            raise ConfigError(f"{path}: line {i} has no field 'image_path'")
        rows.append(row)
    m = make_metric(metric, weights=weights, device=device)
    if m.needs_prompt and any("prompt" not in r for r in rows):
        raise ConfigError(f"{path}: {metric} needs a 'prompt' field in every row")
    base = path.parent
    for r in rows:
        img_path = Path(r["image_path"]) if Path(r["image_path"]).is_absolute() else base / r["image_path"]
        try:
            img = load_rgb(img_path)
            ref = load_rgb(base / r["reference_image_path"]) if m.needs_reference else None
            value = m.score([img], [r.get("prompt", "")], [ref] if ref is not None else None)[0]
            click.echo(json.dumps({"image_path": r["image_path"], metric: value}))
        except Exception as exc:  # noqa: BLE001 - one bad image is reported, the rest are scored
            click.echo(json.dumps({"image_path": r["image_path"], "error": f"{type(exc).__name__}: {exc}"}))
