"""Custom retrieval, reranking and STS data from local files (EvalScope's custom layout) as MTEB tasks.

Retrieval (a folder)::

    corpus.jsonl     {"_id": "d1", "text": "...", "title": "..."}   (``id`` works too)
    queries.jsonl    {"_id": "q1", "text": "..."}
    qrels/test.tsv   query-id <TAB> corpus-id <TAB> score          (header line)
                     or qrels.jsonl / qrels.tsv with qid/pid/score or query-id/corpus-id/score

Reranking (a file, or a folder with ``<split>.jsonl``): ``{"query", "positive": [...], "negative": [...]}``.
STS (a file, or a folder with ``<split>.jsonl``): ``{"sentence1", "sentence2", "score"}``.

Every problem (missing file, a line that is not JSON, a qrel naming an unknown document) is a
one-line :class:`~evs_core.errors.ConfigError` raised while loading, before any model is loaded.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError

from evs_rag.config import CustomTask

DEFAULT_MAIN_SCORE = {"Retrieval": "ndcg_at_10", "Reranking": "map_at_1000", "STS": "cosine_spearman"}


def read_records(path: Path, fmt: str | None = None) -> list[dict[str, Any]]:
    fmt = fmt or path.suffix.lstrip(".")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    rows: list[dict[str, Any]] = []
    if fmt == "jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise ConfigError(f"{path}:{n}: not a JSON line") from None
            if not isinstance(obj, dict):
                raise ConfigError(f"{path}:{n}: a line must be a JSON object")
            rows.append(obj)
    elif fmt == "json":
        try:
            obj = json.loads(text)
        except ValueError:
            raise ConfigError(f"{path}: not valid JSON") from None
        if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
            raise ConfigError(f"{path}: must hold a list of objects")
        rows = obj
    elif fmt in ("csv", "tsv"):
        rows = [dict(r) for r in csv.DictReader(text.splitlines(), delimiter="\t" if fmt == "tsv" else ",")]
    else:
        raise ConfigError(f"{path}: unsupported format '{fmt}' (jsonl, json, csv, tsv)")
    return rows


def _find(folder: Path, stem: str, fmt: str) -> Path | None:
    for ext in dict.fromkeys((fmt, "jsonl", "json", "tsv", "csv")):
        p = folder / f"{stem}.{ext}"
        if p.is_file():
            return p
    return None


def _id(row: dict[str, Any], where: str, n: int) -> str:
    v = row.get("_id", row.get("id"))
    if v is None or str(v).strip() == "":
        raise ConfigError(f"{where}: record {n} has no '_id' (or 'id')")
    return str(v).strip()


def _text(row: dict[str, Any], where: str, n: int) -> str:
    v = row.get("text")
    if not isinstance(v, str):
        raise ConfigError(f"{where}: record {n} has no 'text' string")
    return v


def load_retrieval(ct: CustomTask, limits: int | None = None) -> dict[str, dict[str, Any]]:
    """Per split: {"corpus": [...], "queries": [...], "relevant_docs": {...}}."""
    folder = Path(ct.data_path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"custom retrieval task '{ct.name}': data_path '{ct.data_path}' must be a folder")
    cpath, qpath = _find(folder, "corpus", ct.data_format), _find(folder, "queries", ct.data_format)
    if cpath is None or qpath is None:
        raise ConfigError(f"custom retrieval task '{ct.name}': {folder} needs corpus.jsonl and queries.jsonl")
    corpus = []
    seen: set[str] = set()
    for n, r in enumerate(read_records(cpath), 1):
        did = _id(r, str(cpath), n)
        if did in seen:
            raise ConfigError(f"{cpath}: duplicate document id '{did}'")
        seen.add(did)
        corpus.append({"id": did, "text": _text(r, str(cpath), n), "title": str(r.get("title") or "")})
    queries = {}
    for n, r in enumerate(read_records(qpath), 1):
        queries[_id(r, str(qpath), n)] = _text(r, str(qpath), n)
    out = {}
    for split in ct.eval_splits:
        qrels_path = _find(folder / "qrels", split, "tsv") if (folder / "qrels").is_dir() else None
        qrels_path = qrels_path or _find(folder, f"qrels_{split}", ct.data_format) or _find(folder, "qrels", ct.data_format)
        if qrels_path is None:
            raise ConfigError(f"custom retrieval task '{ct.name}': no qrels for split '{split}' "
                              f"(qrels/{split}.tsv or qrels.jsonl in {folder})")
        rel: dict[str, dict[str, int]] = {}
        for n, r in enumerate(read_records(qrels_path), 1):
            qid = r.get("query-id", r.get("qid", r.get("query_id")))
            did = r.get("corpus-id", r.get("pid", r.get("docid", r.get("corpus_id"))))
            if qid is None or did is None:
                raise ConfigError(f"{qrels_path}: row {n} needs query-id and corpus-id (or qid and pid)")
            qid, did = str(qid).strip(), str(did).strip()
            if qid not in queries:
                raise ConfigError(f"{qrels_path}: row {n} names query '{qid}', which is not in {qpath.name}")
            if did not in seen:
                raise ConfigError(f"{qrels_path}: row {n} names document '{did}', which is not in {cpath.name}")
            try:
                score = int(float(r.get("score", r.get("label", 1))))
            except (TypeError, ValueError):
                raise ConfigError(f"{qrels_path}: row {n} has a non-numeric score") from None
            rel.setdefault(qid, {})[did] = score
        qids = [q for q in queries if q in rel]
        if limits:
            qids = qids[:limits]
        if not qids:
            raise ConfigError(f"custom retrieval task '{ct.name}': no query of split '{split}' has a qrel")
        out[split] = {
            "corpus": corpus,
            "queries": [{"id": q, "text": queries[q]} for q in qids],
            "relevant_docs": {q: rel[q] for q in qids},
            "top_ranked": None,
        }
    return out


def _split_rows(ct: CustomTask, split: str) -> tuple[Path, list[dict[str, Any]]]:
    p = Path(ct.data_path).expanduser()
    if p.is_dir():
        f = _find(p, split, ct.data_format) or _find(p, "data", ct.data_format)
        if f is None:
            raise ConfigError(f"custom task '{ct.name}': no {split}.{ct.data_format} in {p}")
        p = f
    return p, read_records(p, ct.data_format if p.suffix.lstrip(".") == ct.data_format else None)


def load_reranking(ct: CustomTask, limits: int | None = None) -> dict[str, dict[str, Any]]:
    out = {}
    for split in ct.eval_splits:
        path, rows = _split_rows(ct, split)
        if limits:
            rows = rows[:limits]
        doc_ids: dict[str, str] = {}
        queries, rel, top = [], {}, {}
        for n, r in enumerate(rows, 1):
            q = r.get("query")
            pos, neg = r.get("positive", []), r.get("negative", [])
            pos = [pos] if isinstance(pos, str) else pos
            neg = [neg] if isinstance(neg, str) else neg
            if not isinstance(q, str) or not isinstance(pos, list) or not isinstance(neg, list):
                raise ConfigError(f"{path}: record {n} needs 'query' (text), 'positive' and 'negative' (lists)")
            if not pos:
                raise ConfigError(f"{path}: record {n} has no positive document")
            qid = f"q{n}"
            queries.append({"id": qid, "text": q})
            cands = []
            for d in [*pos, *neg]:
                if not isinstance(d, str):
                    raise ConfigError(f"{path}: record {n}: documents must be strings")
                did = doc_ids.setdefault(d, f"d{len(doc_ids) + 1}")
                if did not in cands:
                    cands.append(did)
            rel[qid] = {doc_ids[d]: 1 for d in pos}
            top[qid] = cands
        out[split] = {
            "corpus": [{"id": i, "text": t, "title": ""} for t, i in doc_ids.items()],
            "queries": queries,
            "relevant_docs": rel,
            "top_ranked": top,
        }
    return out


def load_sts(ct: CustomTask, limits: int | None = None) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for split in ct.eval_splits:
        path, rows = _split_rows(ct, split)
        if limits:
            rows = rows[:limits]
        clean = []
        for n, r in enumerate(rows, 1):
            s1, s2 = r.get("sentence1"), r.get("sentence2")
            if not isinstance(s1, str) or not isinstance(s2, str):
                raise ConfigError(f"{path}: record {n} needs 'sentence1' and 'sentence2' strings")
            try:
                score = float(r["score"])
            except (KeyError, TypeError, ValueError):
                raise ConfigError(f"{path}: record {n} needs a numeric 'score'") from None
            clean.append({"sentence1": s1, "sentence2": s2, "score": score})
        if len(clean) < 2:
            raise ConfigError(f"custom STS task '{ct.name}': split '{split}' needs at least 2 pairs")
        out[split] = clean
    return out


def _metadata(ct: CustomTask, kind: str):
    from mteb.abstasks.task_metadata import TaskMetadata

    return TaskMetadata(
        name=ct.name, description=f"custom {kind} data from local files", reference=None,
        dataset={"path": "local", "revision": "local"}, type=kind, category="t2t", modalities=["text"],
        eval_splits=list(ct.eval_splits), eval_langs=[ct.language],
        main_score=ct.main_score or DEFAULT_MAIN_SCORE[kind], date=None, domains=None, task_subtypes=None,
        license=None, annotations_creators=None, dialect=None, sample_creation=None, bibtex_citation="",
    )


def build_task(ct: CustomTask, limits: int | None = None):
    """An MTEB task holding the local data (loaded now, so bad files fail before any model call)."""
    from datasets import Dataset

    if ct.type in ("Retrieval", "Reranking"):
        from mteb.abstasks.retrieval import AbsTaskRetrieval

        data = load_retrieval(ct, limits) if ct.type == "Retrieval" else load_reranking(ct, limits)

        class LocalRetrieval(AbsTaskRetrieval):
            metadata = _metadata(ct, ct.type)

            def load_data(self, num_proc=None, **kwargs):
                if self.data_loaded:
                    return
                self.dataset = {"default": {
                    split: {"corpus": Dataset.from_list(d["corpus"]), "queries": Dataset.from_list(d["queries"]),
                            "relevant_docs": d["relevant_docs"], "top_ranked": d["top_ranked"]}
                    for split, d in data.items()}}
                self.data_loaded = True

        task = LocalRetrieval()
        task.evs_counts = {split: len(d["queries"]) for split, d in data.items()}
        return task
    from mteb.abstasks.sts import AbsTaskSTS

    rows = load_sts(ct, limits)
    scores = [r["score"] for split_rows in rows.values() for r in split_rows]
    lo = ct.min_score if ct.min_score is not None else min(scores)
    hi = ct.max_score if ct.max_score is not None else max(scores)
    if hi <= lo:
        raise ConfigError(f"custom STS task '{ct.name}': scores must not all be equal (set min_score/max_score)")

    class LocalSTS(AbsTaskSTS):
        metadata = _metadata(ct, "STS")
        min_score = lo
        max_score = hi

        def load_data(self, num_proc=None, **kwargs):
            if self.data_loaded:
                return
            self.dataset = {"default": {split: Dataset.from_list(r) for split, r in rows.items()}}
            self.data_loaded = True

    task = LocalSTS()
    task.evs_counts = {split: len(r) for split, r in rows.items()}
    return task
