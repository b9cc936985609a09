"""Dataset loading: local files first, the Hugging Face Hub or ModelScope only when asked.

A benchmark's data is found under ``<dataset_dir>/<benchmark>/`` (or an explicit
``local_path``), laid out like the Hub dataset it mirrors: ``test.jsonl``, ``dev/x_dev.csv``,
``ARC-Challenge/test.jsonl``, or a raw snapshot of the Hub repository
(``main/test-00000-of-00001.parquet``). Reading a local path never touches the network.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError, require

SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".tsv")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise EvsError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
    return rows


def read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvsError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict):
        for key in ("data", "rows", "examples", "test"):
            if isinstance(data.get(key), list):
                return data[key]
        return [data]
    return data


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, Any]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [dict(r) for r in csv.DictReader(f, delimiter=delimiter)]


def read_parquet(path: Path) -> list[dict[str, Any]]:
    pq = require("pyarrow.parquet", "reading parquet files", "pyarrow")
    return pq.read_table(path).to_pylist()


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a data file; a file that is not UTF-8 is one line naming it, never a traceback."""
    try:
        return _read_records(path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                          "save the file as UTF-8") from None


def _read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read one local data file into a list of dicts, by its suffix."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"data file not found: {p}")
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(p)
    if suffix == ".json":
        return read_json(p)
    if suffix == ".csv":
        return read_csv(p)
    if suffix == ".tsv":
        return read_csv(p, "\t")
    if suffix == ".parquet":
        return read_parquet(p)
    raise ConfigError(f"unsupported data file type '{suffix}' for {p} (use one of {', '.join(SUFFIXES)})")


def _tokens(rel: Path) -> list[str]:
    out: list[str] = []
    for part in rel.parts:
        stem = part
        for suf in SUFFIXES:
            if stem.lower().endswith(suf):
                stem = stem[: -len(suf)]
        out.append(stem.lower())
        out.extend(t for t in re.split(r"[-_.]", stem.lower()) if t)
    return out


def find_split_files(root: Path, split: str, subset: str | None = None) -> list[Path]:
    """Files under ``root`` that hold ``split`` (and ``subset`` when given).

    A file matches the split when a path component or a ``-``/``_`` separated token of it
    equals the split name (``test.jsonl``, ``dev/x_dev.csv``, ``main/test-00000-of-00001.parquet``).
    It matches the subset when a component equals it or its file name starts with ``<subset>_``.
    """
    if root.is_file():
        return [root]
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    split = split.lower()
    matched = []
    for p in files:
        rel = p.relative_to(root)
        toks = _tokens(rel)
        if split not in toks:
            continue
        if subset is not None:
            sub = subset.lower()
            comps = [c.lower() for c in rel.parts[:-1]]
            name = rel.name.lower()
            if sub not in comps and not name.startswith(sub + "_") and not name.startswith(sub + "-") \
                    and Path(name).stem != sub:
                continue
        matched.append(p)
    return matched


def load_local(root: Path, split: str, subset: str | None = None) -> list[dict[str, Any]]:
    files = find_split_files(root, split, subset)
    if not files:
        what = f"split '{split}'" + (f" of subset '{subset}'" if subset else "")
        raise ConfigError(f"no data file for {what} under {root} (expected e.g. {root}/{split}.jsonl)")
    rows: list[dict[str, Any]] = []
    for f in files:
        rows.extend(read_records(f))
    return rows


def load_hub(
    dataset_id: str, subset: str | None, split: str, hub: str = "huggingface", revision: str | None = None
) -> list[dict[str, Any]]:
    """Load a split from the Hugging Face Hub (``datasets``) or ModelScope (``modelscope``)."""
    if hub == "modelscope":
        ms = require("modelscope.msdatasets", "loading from ModelScope", "modelscope")
        ds = ms.MsDataset.load(dataset_id, subset_name=subset, split=split)
        return [dict(r) for r in ds]
    datasets = require("datasets", "loading benchmarks from the Hugging Face Hub", "datasets")
    try:
        ds = datasets.load_dataset(dataset_id, subset, split=split, revision=revision)
    except Exception as exc:  # noqa: BLE001 - the hub raises many kinds
        raise EvsError(
            f"could not load {dataset_id} ({subset or 'default'}/{split}) from the Hub: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; use --dataset-dir for local files"
        ) from None
    return [dict(r) for r in ds]
