"""Images in requests: OpenAI ``image_url`` content parts, encoding, size limits and resizing.

A message's ``content`` is a string or a list of OpenAI content parts. Images are
``{"type": "image_url", "image_url": {"url": URL}}`` where ``URL`` is

* a ``data:image/...;base64,...`` URL (images read from a Hub dataset),
* an ``http(s)://`` URL (passed to the endpoint as is), or
* a local file path (``/data/cat.png``, ``file:///data/cat.png``), read when the request is sent.

Benchmarks build parts with :func:`image_part`; model adapters turn every part into what the
endpoint accepts with :func:`encode_messages` and :class:`ImageOptions` (base64 data URLs, at most
``max_pixels`` pixels or ``max_side`` pixels per side, at most ``max_bytes`` encoded bytes).
Problems raise :class:`ImageError` with a one-line cause; the engine records the sample as an
error and the run goes on. Pillow is imported only when an image has to be inspected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evs_core.errors import EvsError, require

MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif", "BMP": "image/bmp"}
EXT = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/webp": "webp", "image/gif": "gif",
       "image/bmp": "bmp"}
_DATA_RE = re.compile(r"^data:(image/[A-Za-z0-9.+-]+)?(;[^,]*)?;base64,", re.IGNORECASE)


class ImageError(EvsError):
    """An image could not be read, decoded, or fit within the endpoint's limits."""


def _pil():
    return require("PIL.Image", "reading images", "pillow")


# -- building parts --------------------------------------------------------------------------
def data_url(data: bytes, mime: str | None = None) -> str:
    """A base64 data URL of image bytes; the MIME type is sniffed from the bytes when not given."""
    return f"data:{mime or sniff_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"


def sniff_mime(data: bytes) -> str:
    """The MIME type of image bytes from their signature (PNG when unknown)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:2] == b"BM":
        return "image/bmp"
    return "image/png"


def to_image_url(source: Any, base_dir: str | Path | None = None) -> str:
    """The URL of one image given as bytes, a data URL, an http(s) URL, a path, a PIL image or a
    Hub ``Image()`` cell (``{"bytes": ..., "path": ...}``). Relative paths resolve against ``base_dir``."""
    if isinstance(source, dict):
        if source.get("bytes"):
            return to_image_url(source["bytes"], base_dir)
        if source.get("path"):
            return to_image_url(source["path"], base_dir)
        if source.get("url"):
            return to_image_url(source["url"], base_dir)
        raise ImageError("an image cell has neither 'bytes' nor 'path'")
    if isinstance(source, (bytes, bytearray, memoryview)):
        return data_url(bytes(source))
    if isinstance(source, Path):
        source = str(source)
    if isinstance(source, str):
        s = source.strip()
        if not s:
            raise ImageError("empty image reference")
        if s.startswith(("data:", "http://", "https://")):
            return s
        if s.startswith("file://"):
            s = s[len("file://"):]
        p = Path(s).expanduser()
        if not p.is_absolute() and base_dir is not None:
            p = Path(base_dir) / p
        return str(p)
    if hasattr(source, "save") and hasattr(source, "size"):  # a PIL image
        buf = io.BytesIO()
        fmt = source.format if source.format in MIME else "PNG"
        source.save(buf, format=fmt)
        return data_url(buf.getvalue(), MIME[fmt])
    raise ImageError(f"cannot use a {type(source).__name__} as an image")


def image_part(source: Any, base_dir: str | Path | None = None, detail: str | None = None) -> dict[str, Any]:
    """An OpenAI ``image_url`` content part for one image (see :func:`to_image_url`)."""
    inner: dict[str, Any] = {"url": to_image_url(source, base_dir)}
    if detail:
        inner["detail"] = detail
    return {"type": "image_url", "image_url": inner}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def is_image_part(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "image_url" and isinstance(part.get("image_url"), dict)


def iter_image_parts(messages: list[dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    """Every image part of a list of chat messages, in order."""
    for m in messages or []:
        content = m.get("content") if isinstance(m, dict) else getattr(m, "content", None)
        if isinstance(content, list):
            for part in content:
                if is_image_part(part):
                    yield part


def has_images(messages: list[dict[str, Any]] | None) -> bool:
    return next(iter_image_parts(messages), None) is not None


def content_text(content: Any) -> str:
    """The text of a message content (the text parts joined), without its images."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def interleave(text: str, images: dict[int, Any], base_dir: str | Path | None = None,
               pattern: str = r"<image\s*(\d+)>") -> list[dict[str, Any]]:
    """Content parts of ``text`` with each ``<image N>`` placeholder replaced by image N.

    Images that no placeholder names are appended after the text, in order (MMMU's layout).
    """
    parts: list[dict[str, Any]] = []
    used: set[int] = set()
    pos = 0
    for m in re.finditer(pattern, text):
        n = int(m.group(1))
        if n not in images:
            continue
        if text[pos:m.start()]:
            parts.append(text_part(text[pos:m.start()]))
        if n not in used:
            parts.append(image_part(images[n], base_dir))
            used.add(n)
        else:  # the same image named twice: keep the placeholder text, send the image once
            parts.append(text_part(m.group(0)))
        pos = m.end()
    if text[pos:]:
        parts.append(text_part(text[pos:]))
    for n in sorted(images):
        if n not in used:
            parts.append(image_part(images[n], base_dir))
    return parts


# -- reading and encoding --------------------------------------------------------------------
def decode_data_url(url: str) -> tuple[bytes, str | None]:
    """The bytes and MIME type of a base64 data URL."""
    m = _DATA_RE.match(url)
    if not m:
        raise ImageError("not a base64 image data URL")
    try:
        return base64.b64decode(url[m.end():], validate=False), (m.group(1) or "").lower() or None
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"image data URL is not valid base64: {exc}") from None


def read_image_bytes(url: str) -> tuple[bytes, str | None]:
    """The bytes (and MIME type, when known) of a data URL or a local path; never the network."""
    if url.startswith("data:"):
        return decode_data_url(url)
    if url.startswith(("http://", "https://")):
        raise ImageError(f"remote image {url[:80]} cannot be read locally")
    path = Path(url[len("file://"):] if url.startswith("file://") else url)
    try:
        return path.read_bytes(), None
    except FileNotFoundError:
        raise ImageError(f"image file not found: {path}") from None
    except IsADirectoryError:
        raise ImageError(f"image path is a folder, not a file: {path}") from None
    except OSError as exc:
        raise ImageError(f"cannot read image file {path}: {exc.strerror or exc}") from None


def fmt_bytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


@dataclass(frozen=True)
class ImageOptions:
    """How images are sent to an endpoint.

    ``max_pixels`` / ``max_side``: larger images are scaled down (aspect kept) before sending;
    ``max_bytes``: an image still larger once encoded is an error (the endpoint would refuse it);
    ``format``: ``keep`` (the source format when PNG/JPEG/WebP/GIF, else PNG), ``png``, ``jpeg``
    or ``webp`` (a re-encode); ``quality``: JPEG/WebP quality; ``detail``: OpenAI's
    ``low``/``high``/``auto`` hint; ``url_mode``: ``base64`` sends every image inline, ``pass``
    forwards http(s) URLs to the endpoint unchanged (``base64`` cannot fetch them: no network).
    """

    max_pixels: int | None = None
    max_side: int | None = None
    max_bytes: int | None = 20_000_000
    format: str = "keep"
    quality: int = 90
    detail: str | None = None
    url_mode: str = "pass"

    ARGS = {"image_max_pixels": "max_pixels", "image_max_side": "max_side", "image_max_bytes": "max_bytes",
            "image_format": "format", "image_quality": "quality", "image_detail": "detail",
            "image_url_mode": "url_mode"}

    @classmethod
    def from_model_args(cls, args: dict[str, Any]) -> ImageOptions:
        """Options from ``model_args`` keys ``image_max_pixels``, ``image_max_side``, ``image_max_bytes``,
        ``image_format``, ``image_quality``, ``image_detail``, ``image_url_mode``; bad values are a ConfigError."""
        from evs_core.errors import ConfigError

        kw: dict[str, Any] = {}
        for key, field_name in cls.ARGS.items():
            if key not in args or args[key] is None:
                continue
            v = args[key]
            if field_name in ("max_pixels", "max_side", "max_bytes", "quality"):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                    raise ConfigError(f"model_args.{key} must be a positive number, not {v!r}")
                v = int(v)
            elif field_name == "format" and v not in ("keep", "png", "jpeg", "webp"):
                raise ConfigError(f"model_args.{key} must be keep, png, jpeg or webp, not {v!r}")
            elif field_name == "detail" and v not in ("low", "high", "auto"):
                raise ConfigError(f"model_args.{key} must be low, high or auto, not {v!r}")
            elif field_name == "url_mode" and v not in ("pass", "base64"):
                raise ConfigError(f"model_args.{key} must be pass or base64, not {v!r}")
            kw[field_name] = v
        return cls(**kw)


def target_size(width: int, height: int, max_pixels: int | None, max_side: int | None) -> tuple[int, int]:
    """The size an image of ``width`` x ``height`` is scaled to under the limits (aspect kept)."""
    scale = 1.0
    if max_pixels and width * height > max_pixels:
        scale = min(scale, math.sqrt(max_pixels / (width * height)))
    if max_side and max(width, height) > max_side:
        scale = min(scale, max_side / max(width, height))
    if scale >= 1.0:
        return width, height
    w, h = max(1, int(width * scale)), max(1, int(height * scale))
    while max_pixels and w * h > max_pixels:  # rounding never leaves it over the limit
        if w >= h:
            w -= 1
        else:
            h -= 1
    return w, h


@dataclass
class EncodedImage:
    url: str
    width: int
    height: int
    nbytes: int
    resized: bool


def encode_image(url: str, options: ImageOptions) -> EncodedImage:
    """The data URL an endpoint receives for the image at ``url`` (data URL or local path)."""
    data, mime = read_image_bytes(url)
    Image = _pil()
    try:
        img = Image.open(io.BytesIO(data))
        width, height = img.size
        src_format = img.format
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for bad files
        where = "data URL" if url.startswith("data:") else url
        raise ImageError(f"cannot decode image {where[:120]}: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")) from None
    new_size = target_size(width, height, options.max_pixels, options.max_side)
    want = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}.get(options.format)
    resized = new_size != (width, height)
    if not resized and (want is None or want == src_format) and src_format in MIME:
        out_url = url if url.startswith("data:") and mime else data_url(data, MIME[src_format])
        nbytes = len(data)
    else:
        fmt = want or (src_format if src_format in ("PNG", "JPEG", "WEBP") else "PNG")
        try:
            if resized and src_format == "JPEG":
                img.draft("RGB", new_size)  # decode at a reduced DCT scale, still at least new_size
            img.load()
            if resized:
                img = img.resize(new_size, Image.Resampling.BICUBIC, reducing_gap=3.0)
            if fmt == "JPEG" and img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            buf = io.BytesIO()
            save_kw = {"quality": options.quality} if fmt in ("JPEG", "WEBP") else {}
            img.save(buf, format=fmt, **save_kw)
        except Exception as exc:  # noqa: BLE001 - a truncated file fails on load
            raise ImageError(f"cannot decode image {url[:120] if not url.startswith('data:') else 'data URL'}: "
                             f"{type(exc).__name__}: {exc}") from None
        encoded = buf.getvalue()
        out_url, nbytes = data_url(encoded, MIME[fmt]), len(encoded)
    if options.max_bytes and nbytes > options.max_bytes:
        raise ImageError(f"image of {new_size[0]}x{new_size[1]} is {fmt_bytes(nbytes)} encoded, over the endpoint "
                         f"limit of {fmt_bytes(options.max_bytes)} (model_args.image_max_bytes); set "
                         f"model_args.image_max_pixels or image_format=jpeg to shrink it")
    return EncodedImage(out_url, new_size[0], new_size[1], nbytes, resized)


class _Cache:
    """A small LRU of encoded local files, keyed by path, size, mtime and options."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._d: OrderedDict[Any, EncodedImage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key, value) -> None:
        with self._lock:
            self._d[key] = value
            while len(self._d) > self.size:
                self._d.popitem(last=False)


_CACHE = _Cache()


def _cached_encode(url: str, options: ImageOptions) -> EncodedImage:
    if url.startswith("data:"):
        return encode_image(url, options)
    path = url[len("file://"):] if url.startswith("file://") else url
    try:
        st = os.stat(path)
    except OSError:
        return encode_image(url, options)  # raises the one-line error
    key = (path, st.st_size, st.st_mtime_ns, options)
    hit = _CACHE.get(key)
    if hit is None:
        hit = encode_image(url, options)
        _CACHE.put(key, hit)
    return hit


def encode_messages(messages: list[dict[str, Any]], options: ImageOptions) -> list[dict[str, Any]]:
    """A copy of ``messages`` whose image parts hold what the endpoint receives (base64 data URLs,
    resized and checked); http(s) URLs are forwarded when ``options.url_mode == "pass"``.

    Raises :class:`ImageError` naming the image (its position in the request) and the cause.
    """
    out = []
    n = 0
    for m in messages:
        content = m.get("content")
        if not isinstance(content, list):
            out.append(m)
            continue
        parts = []
        for part in content:
            if not is_image_part(part):
                parts.append(part)
                continue
            n += 1
            url = str(part["image_url"].get("url", ""))
            inner = {k: v for k, v in part["image_url"].items() if k != "url"}
            if options.detail and "detail" not in inner:
                inner["detail"] = options.detail
            if url.startswith(("http://", "https://")):
                if options.url_mode != "pass":
                    raise ImageError(f"image {n}: {url[:80]} is a remote URL; evs never downloads images "
                                     "(use model_args.image_url_mode=pass to forward it)")
                parts.append({"type": "image_url", "image_url": {"url": url, **inner}})
                continue
            try:
                enc = _cached_encode(url, options)
            except ImageError as exc:
                raise ImageError(f"image {n}: {exc}") from None
            parts.append({"type": "image_url", "image_url": {"url": enc.url, **inner}})
        out.append({**m, "content": parts})
    return out


def load_pil(url: str):
    """A decoded RGB PIL image from a data URL or a local path (local models)."""
    data, _ = read_image_bytes(url)
    Image = _pil()
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # noqa: BLE001
        raise ImageError(f"cannot decode image {url[:120] if not url.startswith('data:') else 'data URL'}: "
                         f"{type(exc).__name__}: {exc}") from None
    return img.convert("RGB")


# -- media stored once per run ---------------------------------------------------------------
class MediaStore:
    """Content-addressed image files of a run folder: ``<run>/media/<sha256>.<ext>``.

    Predictions reference inline images by their relative path (``media/ab12….png``) instead of
    repeating megabytes of base64 on every line; the same image is written once per run.
    """

    def __init__(self, media_dir: Path) -> None:
        self.dir = Path(media_dir)
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def put_data_url(self, url: str) -> str:
        data, mime = decode_data_url(url)
        ext = EXT.get(mime or sniff_mime(data), "png")
        name = f"{hashlib.sha256(data).hexdigest()[:32]}.{ext}"
        with self._lock:
            if name not in self._known:
                self.dir.mkdir(parents=True, exist_ok=True)
                path = self.dir / name
                if not path.exists():
                    tmp = path.with_name(name + f".tmp{os.getpid()}")
                    tmp.write_bytes(data)
                    os.replace(tmp, path)
                self._known.add(name)
        return f"{self.dir.name}/{name}"

    def externalize(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A copy of ``messages`` whose inline (data URL) images are stored here and referenced."""
        out = []
        for m in messages:
            content = m.get("content") if isinstance(m, dict) else None
            if not isinstance(content, list):
                out.append(m)
                continue
            parts = []
            for part in content:
                if is_image_part(part) and str(part["image_url"].get("url", "")).startswith("data:"):
                    try:
                        ref = self.put_data_url(part["image_url"]["url"])
                    except ImageError:
                        ref = "invalid-data-url"
                    part = {"type": "image_url", "image_url": {**part["image_url"], "url": ref}}
                parts.append(part)
            out.append({**m, "content": parts})
        return out


def resolve_media(url: str, run_dir: str | Path) -> str:
    """The readable location of an image reference written in a prediction: a ``media/…`` path
    becomes a file in the run folder; data URLs, http(s) URLs and absolute paths stay as they are."""
    if url.startswith(("data:", "http://", "https://")):
        return url
    p = Path(url[len("file://"):] if url.startswith("file://") else url)
    if not p.is_absolute():
        p = Path(run_dir) / p
    return str(p)
