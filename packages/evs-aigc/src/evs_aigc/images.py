"""Image files of a run: where generated images go, atomic writes, reading with one-line errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

from evs_core.errors import EvsError

#: Fields of a prompt row that may name a reference (ground-truth) image, as EvalScope reads them.
REFERENCE_KEYS = ("reference_image_path", "target_image_path", "ref_image_path", "gt_image_path",
                  "ground_truth_image_path", "reference_image", "target_image", "ref_image", "gt_image",
                  "ground_truth_image")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


class ImageReadError(EvsError):
    """An image file is missing or cannot be decoded."""


def safe_part(name: str) -> str:
    """A file-name-safe form of a model name, dataset or sample id."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._")
    return s[:120] or "_"


def request_digest(payload: dict[str, Any]) -> str:
    """A short digest of what decides an image (prompt, size, steps, seed…), for its file name."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:10]


def image_relpath(model: str, dataset: str, sample_id: str, digest: str) -> str:
    """The run-relative path of one sample's image: ``images/<model>/<dataset>/<id>-<digest>.png``."""
    from evs_core.outputs import safe_name

    return f"images/{safe_name(model)}/{safe_part(dataset)}/{safe_part(sample_id)}-{digest}.png"


def save_png(image: Any, path: Path) -> None:
    """Write a PIL image as PNG atomically (a killed run never leaves half a file under the name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_bytes(data: bytes, path: Path) -> None:
    """Write image bytes (decoded and re-encoded as PNG, so a bad payload fails here)."""
    save_png(decode_image(data, str(path)), path)


def decode_image(data: bytes, what: str) -> Any:
    from PIL import Image

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds
        raise ImageReadError(f"cannot decode image {what}: {type(exc).__name__}: {exc}") from None
    return img


def source_bytes(src: str) -> bytes:
    """The bytes of an image given as a file path or a ``data:`` URL."""
    if isinstance(src, str) and src.startswith("data:"):
        import base64

        try:
            return base64.b64decode(src.split(",", 1)[1])
        except (IndexError, ValueError):
            raise ImageReadError("a data URL image that is not base64") from None
    p = Path(src)
    if not p.is_file():
        raise ImageReadError(f"image not found: {p}")
    return p.read_bytes()


def describe_source(src: str) -> str:
    """A data URL as its digest (predictions stay small), a path as is."""
    if isinstance(src, str) and src.startswith("data:"):
        return "data:sha256:" + hashlib.sha256(src.encode()).hexdigest()[:16]
    return str(src)


def load_rgb(path: str | Path) -> Any:
    """A file (or data URL) as an RGB PIL image; :class:`ImageReadError` (one line) when missing or corrupt."""
    if isinstance(path, str) and path.startswith("data:"):
        return decode_image(source_bytes(path), "(data URL)").convert("RGB")
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"image not found: {p}")
    return decode_image(p.read_bytes(), str(p)).convert("RGB")


def is_readable_image(path: Path) -> bool:
    try:
        load_rgb(path)
        return True
    except ImageReadError:
        return False
