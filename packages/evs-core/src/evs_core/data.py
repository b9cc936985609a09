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

#: The suffixes evs-core's own loaders read; the suffixes in use are those of the registered
#: dataset loaders (``evs_register_dataset_loaders``), see :func:`loader_table`.
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


def read_tsv(path: Path) -> list[dict[str, Any]]:
    return read_csv(path, "\t")


_DEFAULT_LOADERS: list[Any] = []


def default_loaders() -> Any:
    """The dataset-loader registry of the default plugin manager (built once)."""
    if not _DEFAULT_LOADERS:
        from evs_core.registry import get_registries

        _DEFAULT_LOADERS.append(get_registries().dataset_loaders)
    return _DEFAULT_LOADERS[0]


def loader_table(loaders: Any = None) -> dict[str, str]:
    """``{suffix: loader name}`` of a dataset-loader registry (the default plugins' when None)."""
    reg = loaders if loaders is not None else default_loaders()
    table: dict[str, str] = {}
    for name in reg.names():
        for suffix in reg.entry(name).meta.get("suffixes", []):
            table.setdefault(str(suffix).lower(), name)
    return table


def _suffix_of(name: str, table: dict[str, str]) -> str | None:
    """The longest registered suffix ``name`` ends with (``.jsonl.gz`` before ``.gz``)."""
    low = name.lower()
    best = None
    for suf in table:
        if low.endswith(suf) and (best is None or len(suf) > len(best)):
            best = suf
    return best


def read_records(path: str | Path, loaders: Any = None) -> list[dict[str, Any]]:
    """Read one local data file into a list of dicts with the loader registered for its suffix."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"data file not found: {p}")
    reg = loaders if loaders is not None else default_loaders()
    table = loader_table(reg)
    suffix = _suffix_of(p.name, table)
    if suffix is None:
        raise ConfigError(f"unsupported data file type '{p.suffix.lower()}' for {p} "
                          f"(registered loaders read {', '.join(sorted(table))})")
    rows = reg.load(table[suffix])(p)
    if not isinstance(rows, list):
        raise EvsError(f"dataset loader '{table[suffix]}' returned {type(rows).__name__} for {p}, not a list of rows")
    return rows


def _tokens(rel: Path, suffixes) -> list[str]:
    out: list[str] = []
    for part in rel.parts:
        stem = part
        for suf in suffixes:
            if stem.lower().endswith(suf):
                stem = stem[: -len(suf)]
        out.append(stem.lower())
        out.extend(t for t in re.split(r"[-_.]", stem.lower()) if t)
    return out


def find_split_files(root: Path, split: str, subset: str | None = None, loaders: Any = None) -> list[Path]:
    """Files under ``root`` that hold ``split`` (and ``subset`` when given).

    A file matches the split when a path component or a ``-``/``_`` separated token of it
    equals the split name (``test.jsonl``, ``dev/x_dev.csv``, ``main/test-00000-of-00001.parquet``).
    It matches the subset when a component equals it or its file name starts with ``<subset>_``.
    """
    if root.is_file():
        return [root]
    table = loader_table(loaders)
    files = sorted(p for p in root.rglob("*") if p.is_file() and _suffix_of(p.name, table) is not None)
    split = split.lower()
    matched = []
    for p in files:
        rel = p.relative_to(root)
        toks = _tokens(rel, sorted(table, key=len, reverse=True))
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


def load_local(root: Path, split: str, subset: str | None = None, loaders: Any = None) -> list[dict[str, Any]]:
    """Rows of one split (and subset) under ``root``, each file read by its registered loader."""
    files = find_split_files(root, split, subset, loaders)
    if not files:
        what = f"split '{split}'" + (f" of subset '{subset}'" if subset else "")
        raise ConfigError(f"no data file for {what} under {root} (expected e.g. {root}/{split}.jsonl)")
    rows: list[dict[str, Any]] = []
    for f in files:
        rows.extend(read_records(f, loaders))
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
