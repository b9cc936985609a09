"""RAGAS test-set generation from a folder of documents (``.txt``/``.md`` files).

The generated file lists ``user_input``, ``reference_contexts``, ``reference`` and the synthesizer
used; the RAG system under test then adds ``retrieved_contexts`` and ``response`` before scoring.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from evs_core.errors import ConfigError, EvsError
from evs_core.outputs import atomic_write_text

from evs_rag.config import TestsetGeneration
from evs_rag.offline import is_local, offline, quiet_libraries, ragas_offline_tokenizer

class GenerationError(EvsError):
    """Test-set generation failed at run time (not bad input)."""

    exit_code = 1


DOC_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}


def collect_docs(paths: list[str]) -> list[tuple[str, str]]:
    files: list[Path] = []
    for p in paths:
        path = Path(p).expanduser()
        if path.is_dir():
            files.extend(sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in DOC_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"document '{p}' does not exist")
    docs = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read document {f}: {exc}") from None
        if text.strip():
            docs.append((str(f), text))
    if not docs:
        raise ConfigError(f"no text documents ({', '.join(sorted(DOC_SUFFIXES))}) in {', '.join(paths)}")
    return docs


def generate_testset(cfg: TestsetGeneration) -> Path:
    quiet_libraries()
    os.environ["RAGAS_DO_NOT_TRACK"] = "true"
    if cfg.language.lower() not in ("english", "en"):
        raise ConfigError(f"language '{cfg.language}': test-set generation uses RAGAS's English prompts only")
    docs = collect_docs(cfg.docs)
    from evs_rag.ragas_run import make_critic, make_embeddings

    local = cfg.embeddings.is_api or is_local(cfg.embeddings.model_name_or_path)
    with offline(local):
        from langchain_core.documents import Document
        from ragas.testset import TestsetGenerator

        ragas_offline_tokenizer()
        llm = make_critic(cfg.generator_llm)
        emb = make_embeddings(cfg.embeddings)
        gen = TestsetGenerator(llm=llm, embedding_model=emb)
        try:
            ts = gen.generate_with_langchain_docs([Document(page_content=t, metadata={"source": s}) for s, t in docs],
                                                  testset_size=cfg.test_size, raise_exceptions=False,
                                                  with_debugging_logs=False)
        except Exception as exc:  # noqa: BLE001 - RAGAS raises many kinds; the user gets one line
            first = (str(exc).splitlines() or [""])[0]
            raise GenerationError(f"test-set generation failed: {type(exc).__name__}: {first}") from None
        finally:
            client = getattr(llm.adapter, "client", None)
            if client is not None and hasattr(client, "close"):
                client.close()  # the generator's keep-alive connections
            emb.close()
    rows = []
    for r in ts.to_list():
        rows.append({"user_input": r.get("user_input"), "reference_contexts": r.get("reference_contexts"),
                     "reference": r.get("reference"), "synthesizer_name": r.get("synthesizer_name")})
    out = Path(cfg.output_file)
    atomic_write_text(out, json.dumps(rows, ensure_ascii=False, indent=2))
    return out
