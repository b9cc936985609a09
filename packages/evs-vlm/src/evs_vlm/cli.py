"""``evs vlm``: commands of evs-vlm. Heavy work is imported only when a command runs."""

from __future__ import annotations

import click


@click.group("vlm")
def vlm_group():
    """Vision-language evaluation helpers (the benchmarks themselves run with `evs eval`)."""


@vlm_group.command("check")
@click.option("--datasets", "datasets", required=True, help="Benchmarks to check (space- or comma-separated).")
@click.option("--dataset-dir", help="Local data root laid out as DIR/<benchmark>/…")
@click.option("--dataset-args", help="Per-benchmark JSON, as for `evs eval`.")
@click.option("--limit", type=int, help="Samples per subset.")
@click.option("--image-max-pixels", type=int, help="Scale larger images down to this many pixels.")
@click.option("--image-max-side", type=int, help="Scale images down to at most this many pixels per side.")
@click.option("--image-max-bytes", type=int, default=20_000_000, show_default=True,
              help="The endpoint's limit on one encoded image.")
@click.pass_context
def check_command(ctx, datasets, dataset_dir, dataset_args, limit, image_max_pixels, image_max_side, image_max_bytes):
    """Read every image of the selected samples as a run would send it, without asking any model.

    Prints one line per sample whose images cannot be read or do not fit the limits, and a summary
    (samples, images, largest encoded image). Exit status 1 when a sample would fail.
    """
    from evs_core.config import parse_json_arg
    from evs_core.images import ImageError, ImageOptions, encode_image, fmt_bytes, iter_image_parts
    from evs_core.registry import get_registries

    args = parse_json_arg("--dataset-args", dataset_args) or {}
    options = ImageOptions.from_model_args({"image_max_pixels": image_max_pixels, "image_max_side": image_max_side,
                                            "image_max_bytes": image_max_bytes})
    regs = get_registries(ctx.find_root().obj)
    bad = 0
    for name in datasets.replace(",", " ").split():
        bench = regs.benchmarks.load(name)(args.get(name), dataset_dir=dataset_dir)
        samples = bench.load_samples(limit)
        n_images, largest = 0, 0
        for s in samples:
            request = bench.build_request(s)
            for i, part in enumerate(iter_image_parts(request.messages), 1):
                url = str(part["image_url"].get("url", ""))
                if url.startswith(("http://", "https://")):
                    continue
                n_images += 1
                try:
                    largest = max(largest, encode_image(url, options).nbytes)
                except ImageError as exc:
                    bad += 1
                    click.echo(f"{name} {s.id}: image {i}: {exc}")
        click.echo(f"{name}: {len(samples)} samples, {n_images} images, largest {fmt_bytes(largest)} encoded")
    if bad:
        raise SystemExit(1)
