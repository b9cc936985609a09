"""The VLMEvalKit backend: ``evs eval --eval-backend vlmevalkit --eval-config cfg.yaml``.

The config uses EvalScope's VLMEvalKit keys (``data``, ``model`` — ``CustomAPIModel`` entries
with ``api_base``, ``key``, ``type``… or built-in model names —, ``mode``, ``limit``, ``nproc``,
``judge``, ``reuse``, ``work_dir``…). evs checks it strictly, sets VLMEvalKit's API parallelism
(``api_nproc``) to ``--concurrency`` when given (EvalScope leaves it to ``nproc``), runs
``vlmeval.run.run_task`` in the Python that has ``ms-vlmeval`` (``python`` key,
``EVS_VLMEVAL_PYTHON``, this interpreter, or the cached environment ``~/.cache/evs/vlmeval-venv``),
and turns each ``*_acc.csv`` / ``*_score.csv`` result table into an evs report under
``<work_dir>/<run>/reports/<model>/<dataset>.json``.

VLMEvalKit needs its own environment (``torch==2.14.1`` + ``torchvision==0.29.1`` + ``ms-vlmeval``):
on a CPU torch ``import vlmeval`` fails (``torchvision::nms does not exist``). Built-in VLMEvalKit
datasets download their TSV files; custom TSV files in ``$LMUData`` (``LMUData`` key) run offline.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evs_core.backends import BackendOptions, EvalBackend
from evs_core.errors import ConfigError, EvsError, MissingDependencyError, suggest
from evs_core.outputs import atomic_write_text, new_run_dir, safe_name
from evs_core.schema import Report, Stat, SubsetScore

#: Keys of EvalScope's VLMEvalKit config (VLMEvalKit's Arguments), plus evs's own (python, LMUData).
KEYS = {"data", "model", "mode", "limit", "nproc", "api_nproc", "judge", "judge_args", "judge_base_url",
        "judge_key", "judge_api_nproc", "judge_retry", "reuse", "reuse_aux", "work_dir", "retry", "verbose",
        "ignore", "keep_failed", "OPENAI_API_KEY", "OPENAI_API_BASE", "LOCAL_LLM", "fps", "nframe",
        "use_subtitle", "python", "LMUData", "timeout"}
MODEL_KEYS = {"name", "type", "api_base", "key", "temperature", "img_size", "video_llm", "max_tokens", "img_detail",
              "system_prompt", "timeout", "retry", "wait", "verbose"}
DEFAULT_VENV = Path.home() / ".cache" / "evs" / "vlmeval-venv"


def _has_vlmeval(python: str) -> bool:
    try:
        out = subprocess.run([python, "-c", "import vlmeval.run, vlmeval.utils.arguments"], capture_output=True,
                             timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def find_python(cfg: dict[str, Any]) -> str:
    """The interpreter that imports vlmeval (see the module docstring)."""
    for cand in (cfg.get("python"), os.environ.get("EVS_VLMEVAL_PYTHON")):
        if cand:
            if not _has_vlmeval(str(cand)):
                raise MissingDependencyError(f"{cand} cannot import vlmeval; install ms-vlmeval there "
                                             "(with torch==2.14.1 and torchvision==0.29.1)")
            return str(cand)
    for cand in (sys.executable, str(DEFAULT_VENV / "bin" / "python")):
        if Path(cand).exists() and _has_vlmeval(cand):
            return cand
    raise MissingDependencyError(
        "the vlmevalkit backend needs VLMEvalKit: pip install \"evs-vlm[vlmevalkit]\" in an environment with "
        "torch==2.14.1 and torchvision==0.29.1 (CPU torch 2.13 cannot import it), then set EVS_VLMEVAL_PYTHON "
        f"or the config key 'python' to its interpreter (default: {DEFAULT_VENV}/bin/python)")


class VLMEvalKitBackend(EvalBackend):
    name = "vlmevalkit"

    def check(self, cfg: dict[str, Any]) -> None:
        for key in cfg:
            if key not in KEYS:
                raise ConfigError(f"unknown key '{key}' in the VLMEvalKit config{suggest(key, KEYS)}")
        data = cfg.get("data")
        if isinstance(data, str):
            cfg["data"] = data = [data]
        if not data or not isinstance(data, list) or not all(isinstance(d, str) and d for d in data):
            raise ConfigError("the VLMEvalKit config needs 'data': a list of dataset names")
        models = cfg.get("model")
        if isinstance(models, (str, dict)):
            cfg["model"] = models = [models]
        if not models or not isinstance(models, list):
            raise ConfigError("the VLMEvalKit config needs 'model': a list of model names or CustomAPIModel entries")
        for i, m in enumerate(models):
            if isinstance(m, str):
                continue
            if not isinstance(m, dict) or "name" not in m:
                raise ConfigError(f"model[{i}] of the VLMEvalKit config must be a name or a mapping with 'name'")
            if m["name"] == "CustomAPIModel":
                for key in m:
                    if key not in MODEL_KEYS:
                        raise ConfigError(f"unknown key '{key}' in model[{i}] (CustomAPIModel){suggest(key, MODEL_KEYS)}")
                for key in ("api_base", "type"):
                    if not m.get(key):
                        raise ConfigError(f"model[{i}] (CustomAPIModel) needs '{key}'")
        if cfg.get("mode", "all") not in ("all", "infer", "eval"):
            raise ConfigError(f"mode must be all, infer or eval, not {cfg['mode']!r}")
        for key in ("limit", "nproc", "api_nproc"):
            v = cfg.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ConfigError(f"'{key}' of the VLMEvalKit config must be a positive integer, not {v!r}")
        if cfg.get("LMUData") and not Path(cfg["LMUData"]).expanduser().is_dir():
            raise ConfigError(f"LMUData folder does not exist: {cfg['LMUData']}")

    def vlmeval_args(self, cfg: dict[str, Any], options: BackendOptions, work: Path) -> dict[str, Any]:
        """VLMEvalKit's Arguments as a dict: evs's --concurrency becomes api_nproc (and nproc)."""
        args = {k: v for k, v in cfg.items() if k not in ("python", "LMUData")}
        args["work_dir"] = str(work)
        if options.concurrency:
            args["api_nproc"] = options.concurrency
            args.pop("nproc", None)
        elif "nproc" in args and "api_nproc" not in args:
            args["api_nproc"] = args.pop("nproc")
        if options.limit is not None and "limit" not in args:
            args["limit"] = int(options.limit) if float(options.limit) >= 1 else None
        models = []
        for m in args["model"]:
            if isinstance(m, dict) and options.api_key and not m.get("key"):
                m = {**m, "key": options.api_key}
            models.append(m)
        args["model"] = models
        return args

    def run(self, cfg: dict[str, Any], options: BackendOptions) -> dict[str, Report]:
        self.check(cfg)
        python = find_python(cfg)
        run_dir = new_run_dir(options.work_dir)
        work = run_dir / "vlmevalkit"
        work.mkdir(parents=True, exist_ok=True)
        args = self.vlmeval_args(cfg, options, work)
        public = json.loads(json.dumps(args))
        for m in public["model"]:
            if isinstance(m, dict) and m.get("key") and m["key"] != "EMPTY":
                m["key"] = "***"
        atomic_write_text(run_dir / "configs" / "vlmevalkit_config.json", json.dumps(public, indent=2))
        secret_path = work / ".args.json"
        secret_path.write_text(json.dumps(args), encoding="utf-8")
        os.chmod(secret_path, 0o600)
        env = {**os.environ, "PRED_FORMAT": "tsv", "EVAL_FORMAT": "csv"}
        if cfg.get("LMUData"):
            env["LMUData"] = str(Path(cfg["LMUData"]).expanduser())
        driver = Path(__file__).with_name("_vlmeval_driver.py")
        log_path = run_dir / "logs" / "vlmevalkit.log"
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.run([python, str(driver), str(secret_path)], cwd=work, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        secret_path.unlink(missing_ok=True)
        if proc.returncode != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or [""]
            raise EvsError(f"VLMEvalKit failed (exit {proc.returncode}): {tail[0][:300]}; full log: {log_path}")
        names = []
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("EVS_MODEL_NAMES="):
                names = json.loads(line.split("=", 1)[1])
        reports = {}
        for model in names:
            for dataset in args["data"]:
                table = find_result_table(work / model, model, dataset)
                if table is None:
                    continue
                rep = table_to_report(table, model, dataset, public)
                n = count_predictions(work / model, model, dataset)
                if n is not None:
                    rep.num = rep.num_samples = n
                    for stat in rep.metrics.values():
                        stat.num = n
                atomic_write_text(run_dir / "reports" / safe_name(model) / f"{dataset}.json",
                                  rep.model_dump_json(indent=2))
                reports[dataset if len(names) == 1 else f"{model}/{dataset}"] = rep
        if not reports:
            raise EvsError(f"VLMEvalKit wrote no result table under {work}; see {log_path}")
        return reports


def find_result_table(root: Path, model: str, dataset: str) -> Path | None:
    """The newest ``<model>_<dataset>*_acc.csv`` (or ``_score.csv``) under VLMEvalKit's model folder."""
    if not root.is_dir():
        return None
    hits = [p for p in root.rglob(f"{model}_{dataset}*.csv")
            if p.stem.endswith(("_acc", "_score")) and "_acc_all" not in p.stem]
    return max(hits, key=lambda p: p.stat().st_mtime) if hits else None


def count_predictions(root: Path, model: str, dataset: str) -> int | None:
    """Rows of VLMEvalKit's prediction file ``<model>_<dataset>.tsv`` (the samples asked)."""
    hits = [p for p in root.rglob(f"{model}_{dataset}.tsv")] if root.is_dir() else []
    if not hits:
        return None
    csv.field_size_limit(1 << 30)
    with open(max(hits, key=lambda p: p.stat().st_mtime), encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.DictReader(f, delimiter="\t"))


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x == x else None


def table_to_report(path: Path, model: str, dataset: str, config: dict[str, Any]) -> Report:
    """An evs report from a VLMEvalKit result table.

    Tables with a ``split`` column and an ``Overall`` column (multiple choice) give the overall score
    and one row per other column (category); ``key,value`` tables (``_score.csv``) give one metric
    per row. Percent scores (above 1) are divided by 100.
    """
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise EvsError(f"empty VLMEvalKit result table: {path}")
    metrics: dict[str, Stat] = {}
    subsets: list[SubsetScore] = []

    def frac(x: float) -> float:
        return x / 100.0 if x > 1.0 else x

    cols = list(rows[0])
    row = next((r for r in rows if r.get("split") in ("none", "test", "dev", "val", "validation")), rows[0])
    if "Overall" in cols:
        score = frac(_num(row["Overall"]) or 0.0)
        metrics["acc"] = Stat(score=score, num=0)
        for c in cols:
            if c in ("split", "Overall"):
                continue
            v = _num(row.get(c))
            if v is not None:
                subsets.append(SubsetScore(name=c, num=0, score=frac(v), kind="category",
                                           metrics={"acc": Stat(score=frac(v), num=0)}))
        metric = "acc"
    else:
        first = cols[0]
        for r in rows:
            for c in cols[1:]:
                v = _num(r.get(c))
                if v is not None:
                    metrics[f"{r[first]}" if len(cols) == 2 else f"{r[first]}/{c}"] = Stat(score=frac(v), num=0)
        if not metrics:
            raise EvsError(f"no numeric score in VLMEvalKit result table {path}")
        metric = next((k for k in metrics if k.lower() in ("overall", "acc", "accuracy", "final score")),
                      next(iter(metrics)))
        score = metrics[metric].score
    from importlib import metadata

    packages = {}
    for name in ("evs-core", "evs-vlm"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return Report(model=model, dataset=dataset, benchmark_version=f"vlmevalkit:{dataset}", metric=metric,
                  score=score, num=0, num_samples=0, num_errors=0, metrics=metrics, subsets=subsets,
                  config={"eval_backend": "vlmevalkit", "result_table": str(path), "eval_config": config},
                  packages=packages, created_at=datetime.now(UTC).isoformat(timespec="seconds"))


