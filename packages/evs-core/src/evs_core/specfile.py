"""Benchmark spec files: reading, strict validation and listing, without importing benchmark code.

Light on purpose (standard library, PyYAML on demand): ``evs benchmarks`` lists spec benchmarks
through this module. :mod:`evs_core.spec` turns a validated spec into a benchmark class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, suggest

DEFAULT = "default"
#: The names of :data:`evs_core.stats.AGGREGATIONS` (kept here so that validation stays light).
AGGREGATION_NAMES = ("mean", "median", "max", "min", "sum")

SPEC_SUFFIXES = (".yaml", ".yml", ".toml", ".json")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_KEYS: dict[str, set[str]] = {
    "": {"name", "version", "description", "tags", "base", "dataset", "record", "prompt", "filters", "metrics",
         "primary_metric", "generation", "judge", "loglikelihood", "report"},
    "dataset": {"hf", "ms", "local", "subsets", "default_subsets", "hub_subsets", "eval_split", "fewshot_split",
                "num_samples", "subset_field", "subset_field_hub"},
    "record": {"id", "input", "target", "choices", "metadata", "fields", "shuffle_choices"},
    "prompt": {"template", "system", "choice_format", "fewshot", "subset_labels"},
    "prompt.fewshot": {"num", "max", "header", "example", "separator", "last_separator"},
    "judge": {"required", "template", "question"},
    "loglikelihood": {"continuations", "header", "template", "choice_format", "prefix", "separator"},
    "report": {"categories"},
}
_VALUE_KEYS = {"field", "fields", "template", "index_in", "letter", "filters", "default", "fallback"}
_SOURCE_KEYS = ("field", "fields", "template")
LL_CONTINUATIONS = ("letters", "choices")
_METRIC_KEYS = {"metric", "name", "aggregation"}


def is_spec_target(target: Any) -> bool:
    """True for a lazy target that names a spec file (``"pkg:specs/x.yaml"`` or a path)."""
    return isinstance(target, str) and target.lower().endswith(SPEC_SUFFIXES)


# -- reading and checking -------------------------------------------------------------------------
def read_spec_file(path: str | Path) -> dict[str, Any]:
    """The mapping held by a spec file (YAML, TOML or JSON), or a one-line ConfigError."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"benchmark spec not found: {p}")
    return parse_spec_text(p.read_text(encoding="utf-8"), str(p))


def parse_spec_text(text: str, where: str) -> dict[str, Any]:
    try:
        if where.lower().endswith(".toml"):
            import tomllib

            data = tomllib.loads(text)
        elif where.lower().endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            # libyaml's loader when PyYAML was built with it: listing ~100 specs stays fast.
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception as exc:  # noqa: BLE001 - one line for any parse error
        raise ConfigError(f"cannot parse benchmark spec {where}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"benchmark spec {where} must hold a mapping of keys to values")
    return data


def _resource_path(target: str) -> Path:
    """``"package:relative/path.yaml"`` -> the file inside the installed package; a plain path as is."""
    pkg, sep, rel = target.partition(":")
    if sep and pkg and "/" not in pkg and "\\" not in pkg and not Path(target).exists():
        from importlib import resources

        try:
            return Path(str(resources.files(pkg).joinpath(rel)))
        except ModuleNotFoundError:
            raise ConfigError(f"benchmark spec {target}: package '{pkg}' is not installed") from None
    return Path(target)


def load_spec_target(target: str, name: str | None = None) -> dict[str, Any]:
    """The validated spec a lazy target names; ``name`` (the registered name) must match the spec's."""
    path = _resource_path(target)
    spec = validate_spec(read_spec_file(path), str(path))
    if name is not None and spec["name"] != name:
        raise ConfigError(f"benchmark spec {path} is named '{spec['name']}' but registered as '{name}'")
    spec["_origin"] = str(path)
    return spec


def _check_keys(d: Any, section: str, where: str) -> dict[str, Any]:
    label = section or "top level"
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: '{section}' must be a mapping")
    allowed = _KEYS[section]
    for k in d:
        if k not in allowed:
            raise ConfigError(f"{where}: unknown key '{k}' in {label}{suggest(str(k), allowed)}"
                              f" (valid: {', '.join(sorted(allowed))})")
    return d


def _check_value(v: Any, key: str, where: str) -> None:
    if isinstance(v, str):
        return
    if isinstance(v, dict):
        for k in v:
            if k not in _VALUE_KEYS:
                raise ConfigError(f"{where}: unknown key '{k}' in record.{key}{suggest(str(k), _VALUE_KEYS)}"
                                  f" (valid: {', '.join(sorted(_VALUE_KEYS))})")
        if sum(k in v for k in _SOURCE_KEYS) != 1:
            raise ConfigError(f"{where}: record.{key} needs exactly one of 'field', 'fields' or 'template'")
        if "fields" in v and (not isinstance(v["fields"], list) or not v["fields"]
                              or not all(isinstance(f, str) for f in v["fields"])):
            raise ConfigError(f"{where}: record.{key}.fields must be a non-empty list of field names")
        if "filters" in v and not isinstance(v["filters"], list):
            raise ConfigError(f"{where}: record.{key}.filters must be a list of registered filter names")
        if "fallback" in v:
            _check_value(v["fallback"], f"{key}.fallback", where)
        return
    raise ConfigError(f"{where}: record.{key} must be a template string or a mapping with 'field' or 'template'")


def _check_subset_map(m: Any, key: str, subsets: list[str], where: str) -> None:
    """A mapping of subset names (of dataset.subsets) to strings."""
    if not isinstance(m, dict):
        raise ConfigError(f"{where}: {key} must map subset names to names")
    for sub, val in m.items():
        if sub not in subsets:
            raise ConfigError(f"{where}: {key} names '{sub}', not in dataset.subsets{suggest(str(sub), subsets)}")
        if not isinstance(val, str):
            raise ConfigError(f"{where}: {key}.{sub} must be a string, not {val!r}")


def validate_spec(spec: dict[str, Any], where: str = "spec") -> dict[str, Any]:
    """Check a spec's keys and types (one-line errors naming the key); returns it with defaults filled."""
    spec = dict(spec)
    spec.pop("_origin", None)
    _check_keys(spec, "", where)
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
        raise ConfigError(f"{where}: 'name' is required: a benchmark name without spaces")
    spec["version"] = str(spec.get("version", "1"))
    spec.setdefault("description", "")
    tags = spec.setdefault("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{where}: 'tags' must be a list of strings")
    ds = _check_keys(dict(spec.get("dataset") or {}), "dataset", where)
    subsets = ds.setdefault("subsets", [DEFAULT])
    if not isinstance(subsets, list) or not subsets or not all(isinstance(s, str) for s in subsets):
        raise ConfigError(f"{where}: dataset.subsets must be a non-empty list of names")
    for s in ds.get("default_subsets") or []:
        if s not in subsets:
            raise ConfigError(f"{where}: dataset.default_subsets names '{s}', not in dataset.subsets{suggest(s, subsets)}")
    if ds.get("subset_field") is not None and not isinstance(ds["subset_field"], str):
        raise ConfigError(f"{where}: dataset.subset_field must be the name of a field")
    if ds.get("subset_field_hub") is not None:
        if not isinstance(ds["subset_field_hub"], bool):
            raise ConfigError(f"{where}: dataset.subset_field_hub must be true or false")
        if not ds.get("subset_field"):
            raise ConfigError(f"{where}: dataset.subset_field_hub needs dataset.subset_field")
    ds.setdefault("eval_split", "test")
    ds.setdefault("fewshot_split", None)
    if ds.get("num_samples") is not None and (not isinstance(ds["num_samples"], int) or ds["num_samples"] < 0):
        raise ConfigError(f"{where}: dataset.num_samples must be a non-negative integer")
    spec["dataset"] = ds
    rec = _check_keys(dict(spec.get("record") or {}), "record", where)
    if "input" not in rec:
        raise ConfigError(f"{where}: record.input is required (e.g. input: \"{{question}}\")")
    derived = rec.get("fields") or {}
    if not isinstance(derived, dict):
        raise ConfigError(f"{where}: record.fields must map names to values")
    for key, v in derived.items():
        _check_value(v, f"fields.{key}", where)
    for key in ("id", "input", "target", "choices", "shuffle_choices"):
        if key in rec:
            _check_value(rec[key], key, where)
    if "shuffle_choices" in rec and not ("choices" in rec and isinstance(rec.get("target"), dict)
                                         and rec["target"].get("letter")):
        raise ConfigError(f"{where}: record.shuffle_choices needs record.choices and a record.target with letter: true")
    meta = rec.get("metadata") or {}
    if not isinstance(meta, dict):
        raise ConfigError(f"{where}: record.metadata must map names to values")
    for key, v in meta.items():
        _check_value(v, f"metadata.{key}", where)
    spec["record"] = rec
    prompt = _check_keys(dict(spec.get("prompt") or {}), "prompt", where)
    prompt.setdefault("template", "{input}")
    prompt.setdefault("choice_format", "{letter}) {text}")
    fs = _check_keys(dict(prompt.get("fewshot") or {}), "prompt.fewshot", where)
    fs.setdefault("num", 0)
    if not isinstance(fs["num"], int) or isinstance(fs["num"], bool) or fs["num"] < 0:
        raise ConfigError(f"{where}: prompt.fewshot.num must be a non-negative integer")
    if fs["num"] and not ds.get("fewshot_split"):
        raise ConfigError(f"{where}: prompt.fewshot.num needs dataset.fewshot_split")
    fs.setdefault("header", "")
    fs.setdefault("example", "{input}\n{target}")
    fs.setdefault("separator", "\n\n")
    fs.setdefault("last_separator", fs["separator"])
    if fs.get("max") is not None:
        if not isinstance(fs["max"], int) or isinstance(fs["max"], bool) or fs["max"] < 0:
            raise ConfigError(f"{where}: prompt.fewshot.max must be a non-negative integer")
        if fs["num"] > fs["max"]:
            raise ConfigError(f"{where}: prompt.fewshot.num ({fs['num']}) is above prompt.fewshot.max ({fs['max']})")
    prompt["fewshot"] = fs
    labels = prompt.get("subset_labels") or {}
    _check_subset_map(labels, "prompt.subset_labels", subsets, where)
    for key in ("template", "system", "choice_format", "fewshot.header", "fewshot.example", "fewshot.separator",
                "fewshot.last_separator"):
        value = prompt["fewshot"].get(key[8:]) if key.startswith("fewshot.") else prompt.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: prompt.{key} must be a string")
    spec["prompt"] = prompt
    filters = spec.setdefault("filters", [])
    if not isinstance(filters, list):
        raise ConfigError(f"{where}: 'filters' must be a list of registered filter names")
    metrics = spec.get("metrics") or [{"metric": "exact_match", "name": "acc"}]
    if not isinstance(metrics, list):
        raise ConfigError(f"{where}: 'metrics' must be a list")
    norm = []
    for m in metrics:
        if isinstance(m, str):
            m = {"metric": m}
        if not isinstance(m, dict) or "metric" not in m:
            raise ConfigError(f"{where}: each metric is a registered metric name or {{metric: NAME, name: …, "
                              f"aggregation: …}}, not {m!r}")
        for k in m:
            if k not in _METRIC_KEYS:
                raise ConfigError(f"{where}: unknown key '{k}' in a metric{suggest(str(k), _METRIC_KEYS)}"
                                  f" (valid: {', '.join(sorted(_METRIC_KEYS))})")
        m = {"name": m.get("name") or m["metric"], "metric": m["metric"], "aggregation": m.get("aggregation", "mean")}
        if m["aggregation"] not in AGGREGATION_NAMES:
            raise ConfigError(f"{where}: unknown aggregation '{m['aggregation']}' of metric '{m['name']}'"
                              f"{suggest(m['aggregation'], AGGREGATION_NAMES)} (known: {', '.join(AGGREGATION_NAMES)})")
        norm.append(m)
    spec["metrics"] = norm
    names = [m["name"] for m in norm]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: two metrics share a name: {names}")
    spec.setdefault("primary_metric", names[0])
    if spec["primary_metric"] not in names:
        raise ConfigError(f"{where}: primary_metric '{spec['primary_metric']}' is not among the metrics "
                          f"{suggest(spec['primary_metric'], names)}")
    gen = spec.setdefault("generation", {})
    if not isinstance(gen, dict):
        raise ConfigError(f"{where}: 'generation' must be a mapping of sampling parameters")
    if spec.get("loglikelihood") is not None:
        ll = _check_keys(dict(spec["loglikelihood"]), "loglikelihood", where)
        ll.setdefault("continuations", "choices")
        if ll["continuations"] not in LL_CONTINUATIONS:
            raise ConfigError(f"{where}: loglikelihood.continuations must be one of {', '.join(LL_CONTINUATIONS)}, "
                              f"not {ll['continuations']!r}")
        ll.setdefault("header", "")
        ll.setdefault("template", "{input}")
        ll.setdefault("choice_format", "{letter}. {text}")
        ll.setdefault("prefix", " ")
        ll.setdefault("separator", "\n\n")
        for key in ("header", "template", "choice_format", "prefix", "separator"):
            if not isinstance(ll[key], str):
                raise ConfigError(f"{where}: loglikelihood.{key} must be a string")
        spec["loglikelihood"] = ll
    if spec.get("report") is not None:
        report = _check_keys(dict(spec["report"]), "report", where)
        _check_subset_map(report.get("categories") or {}, "report.categories", subsets, where)
        spec["report"] = report
    if spec.get("judge") is not None:
        judge = _check_keys(dict(spec["judge"]), "judge", where)
        judge.setdefault("required", False)
        spec["judge"] = judge
    if spec.get("base") is not None and (not isinstance(spec["base"], str) or ":" not in spec["base"]):
        raise ConfigError(f"{where}: 'base' must be a lazy target 'package.module:Class' (a Benchmark subclass)")
    return spec


def listing_info(entry: Any) -> dict[str, Any]:
    """What ``evs benchmarks`` lists about a registered benchmark, without importing its code:
    a spec benchmark's file is read; a Python one's registration metadata is used."""
    if is_spec_target(entry.target):
        spec = load_spec_target(entry.target, entry.name)
        ds = spec["dataset"]
        desc = entry.meta.get("description") or spec["description"].strip()
        if not entry.meta.get("description") and len(desc) > 100:
            desc = desc.split(". ")[0].rstrip(".") + "."
        return {"tags": entry.meta.get("tags", list(spec["tags"])), "description": desc,
                "subsets": list(ds["subsets"]), "num_samples": ds.get("num_samples")}
    meta = entry.meta
    return {"tags": list(meta.get("tags", [])), "description": meta.get("description", ""),
            "subsets": list(meta.get("subsets", [])), "num_samples": meta.get("num_samples")}
