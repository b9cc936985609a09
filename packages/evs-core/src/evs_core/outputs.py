"""The layout of a run folder, and crash-safe JSONL writing.

::

    <work_dir>/<YYYYmmdd_HHMMSS>/
        configs/task_config.yaml
        logs/eval_log.log
        predictions/<model>/<dataset>.jsonl   one line per (sample, repeat), appended as it finishes
        reviews/<model>/<dataset>.jsonl       one line per (sample, repeat)
        media/<sha256>.<ext>                  images sent inline, written once and referenced from
                                              predictions as ``media/<sha256>.<ext>``
        reports/<model>/<dataset>.json        the report (schema: evs_core.schema.Report)
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SUBDIRS = ("configs", "logs", "predictions", "reviews", "reports")


def safe_name(model: str) -> str:
    """A file-system safe folder name for a model id or path."""
    p = model.rstrip("/\\")
    if os.sep in p and Path(p).exists():
        p = Path(p).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", p).strip("_") or "model"
    if len(name) > MAX_NAME:  # file names are limited to 255 bytes: keep a readable head and a digest
        import hashlib

        name = name[: MAX_NAME - 13] + "_" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return name


MAX_NAME = 120


def new_run_dir(work_dir: str | Path) -> Path:
    """A fresh ``<work_dir>/<timestamp>[_n]`` folder. Creating it is the claim (``mkdir`` without
    ``exist_ok``), so two runs started in the same second, even in two processes, never share one."""
    base = Path(work_dir)
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d_%H%M%S")
    run = base / stamp
    n = 1
    while True:
        try:
            run.mkdir()
            break
        except FileExistsError:
            run = base / f"{stamp}_{n}"
            n += 1
    for sub in SUBDIRS:
        (run / sub).mkdir(parents=True, exist_ok=True)
    return run


def run_dir_of(path: Path) -> Path | None:
    """The run folder holding ``predictions/<model>/<dataset>.jsonl``, or None for another layout."""
    p = Path(path)
    if len(p.parts) >= 3 and p.parent.parent.name == "predictions":
        return p.parent.parent.parent
    return None


def _request_with_images(obj: Any) -> bool:
    req = getattr(obj, "request", None)
    if not isinstance(req, dict):
        return False
    for m in req.get("messages") or []:
        if isinstance(m, dict) and isinstance(m.get("content"), list):
            return True
    return False


def _line_with_media(obj: Any, store) -> str:
    if store is not None and _request_with_images(obj):
        d = obj.model_dump(mode="json")
        d["request"]["messages"] = store.externalize(d["request"]["messages"])
        return json.dumps(d, ensure_ascii=False)
    return obj.model_dump_json() if hasattr(obj, "model_dump_json") else json.dumps(obj, ensure_ascii=False)


class JsonlAppender:
    """Appends one JSON object per line and flushes it, so a crash loses at most a partial line.

    In a run folder's ``predictions/`` (or with ``media_dir``), inline images of a prediction's
    request are written once to ``<run>/media/`` and referenced by path (see
    :class:`evs_core.images.MediaStore`).
    """

    def __init__(self, path: Path, redact: Callable[[str], str] | None = None, media_dir: Path | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.redact = redact
        if media_dir is None:
            run = run_dir_of(path)
            media_dir = run / "media" if run is not None else None
        self._media_dir = media_dir
        self._media = None
        self._f = open(path, "a", encoding="utf-8")

    def write(self, obj: Any) -> None:
        if self._media is None and self._media_dir is not None and _request_with_images(obj):
            from evs_core.images import MediaStore

            self._media = MediaStore(self._media_dir)
        line = _line_with_media(obj, self._media)
        if self.redact is not None:
            line = self.redact(line)
        self._f.write(line + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_jsonl_tolerant(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Valid lines of a JSONL file and the number of broken ones (e.g. cut by a crash)."""
    rows, bad = [], 0
    if not path.exists():
        return rows, 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    return rows, bad


def atomic_write_text(path: Path, text: str, redact: Callable[[str], str] | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half-written)."""
    if redact is not None:
        text = redact(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_jsonl(path: Path, rows: list[Any], redact: Callable[[str], str] | None = None) -> None:
    store = None
    if run_dir_of(path) is not None and any(_request_with_images(r) for r in rows):
        from evs_core.images import MediaStore

        store = MediaStore(run_dir_of(path) / "media")
    lines = [_line_with_media(r, store) for r in rows]
    atomic_write_text(path, "".join(line + "\n" for line in lines), redact=redact)
