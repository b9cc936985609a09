"""Embedding and reranking models in the shapes MTEB evaluates.

* a local sentence-transformers folder or hub id → ``SentenceTransformer`` (MTEB's wrapper);
* an OpenAI-compatible ``/v1/embeddings`` endpoint → :class:`APIEncoder`;
* a local cross-encoder folder or hub id → ``CrossEncoder`` (MTEB's wrapper);
* a ``/v1/rerank`` endpoint → :class:`APIReranker`.

Local paths are loaded with the hub switched off; a hub id is tried only when the hub answers.
"""

from __future__ import annotations

from typing import Any

from evs_core.errors import ConfigError, EvsError

from evs_rag.config import ModelSpec
from evs_rag.http_api import EmbeddingsAPI, RerankAPI
from evs_rag.offline import is_local, offline, require_hub


def _texts(loader) -> list[str]:
    return [t for batch in loader for t in batch["text"]]


def _meta(name: str, kind: str, embed_dim: int | None = None):
    from mteb.models.model_meta import ModelMeta, ScoringFunction

    over: dict[str, Any] = {"name": name if "/" in name else f"evs/{name}", "revision": "api", "framework": ["API"]}
    if kind == "encoder":
        over["similarity_fn_name"] = ScoringFunction.COSINE
        if embed_dim:
            over["embed_dim"] = embed_dim
    return ModelMeta.create_empty(overwrites=over)


def _abs_encoder():
    from mteb.models.abs_encoder import AbsEncoder

    return AbsEncoder


def make_api_encoder(spec: ModelSpec):
    """An MTEB encoder whose ``encode`` calls ``/v1/embeddings``."""
    base = _abs_encoder()

    class APIEncoder(base):
        def __init__(self, spec: ModelSpec):
            self.spec = spec
            self.api = EmbeddingsAPI(spec.api_base, spec.model_name, api_key=spec.api_key,
                                     batch_size=spec.batch_size, concurrency=spec.concurrency,
                                     dimensions=spec.dimensions, encoding_format=spec.encoding_format, timeout=spec.timeout,
                                     max_retries=spec.max_retries)
            self.model = None
            self.mteb_model_meta = _meta(spec.model_name, "encoder", spec.dimensions)

        def encode(self, inputs, *, task_metadata=None, hf_split=None, hf_subset=None, prompt_type=None, **kwargs):
            texts = _texts(inputs)
            if self.spec.prompt:
                texts = [self.spec.prompt + t for t in texts]
            return self.api.embed(texts)

    return APIEncoder(spec)


def make_api_reranker(spec: ModelSpec):
    """An MTEB cross-encoder whose ``predict`` calls ``/v1/rerank``, one request per query."""

    class APIReranker:
        def __init__(self, spec: ModelSpec):
            self.spec = spec
            self.api = RerankAPI(spec.api_base, spec.model_name, api_key=spec.api_key,
                                 concurrency=spec.concurrency, timeout=spec.timeout, max_retries=spec.max_retries)
            self.mteb_model_meta = _meta(spec.model_name, "reranker")

        def predict(self, inputs1, inputs2, *, task_metadata=None, hf_split=None, hf_subset=None,
                    prompt_type=None, **kwargs):
            import numpy as np

            queries, docs = _texts(inputs1), _texts(inputs2)
            groups: list[tuple[str, list[str]]] = []
            for q, d in zip(queries, docs, strict=True):
                if groups and groups[-1][0] == q:
                    groups[-1][1].append(d)
                else:
                    groups.append((q, [d]))
            scores = self.api.score(groups)
            return np.asarray([s for g in scores for s in g], dtype=np.float32)

    return APIReranker(spec)


def _model_kwargs(spec: ModelSpec) -> dict[str, Any]:
    kw = dict(spec.model_kwargs)
    dtype = kw.pop("torch_dtype", None) or kw.pop("dtype", None)
    if dtype and dtype != "auto":
        import torch

        kw["torch_dtype"] = getattr(torch, str(dtype))
    return kw


def _resolve_path(spec: ModelSpec) -> tuple[str, bool]:
    """The path or id to load and whether it is local; a hub id needs a reachable hub."""
    name = spec.model_name_or_path
    if is_local(name):
        from pathlib import Path

        return str(Path(name).expanduser()), True
    if spec.hub == "modelscope":
        require_hub("model", name, "modelscope")
        try:
            from modelscope import snapshot_download
        except ImportError as exc:
            raise ConfigError("hub: modelscope needs the modelscope package: pip install modelscope") from exc
        return snapshot_download(name), True
    require_hub("model", name, "huggingface")
    return name, False


def load_local_encoder(spec: ModelSpec):
    """A SentenceTransformer, loaded offline when the path is local."""
    from sentence_transformers import SentenceTransformer

    path, local = _resolve_path(spec)
    try:
        with offline(local):
            model = SentenceTransformer(path, device=spec.device, model_kwargs=_model_kwargs(spec) or None,
                                        prompts=spec.prompts or None, trust_remote_code=spec.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise EvsError(f"cannot load embedding model '{spec.model_name_or_path}': {str(exc).splitlines()[0]}") from exc
    if spec.max_seq_length:
        model.max_seq_length = spec.max_seq_length
    if spec.pooling_mode:
        from sentence_transformers.models import Pooling

        for i, mod in enumerate(model):
            if isinstance(mod, Pooling):
                model[i] = Pooling(mod.word_embedding_dimension, pooling_mode=spec.pooling_mode)
    return model


def load_local_reranker(spec: ModelSpec):
    from sentence_transformers import CrossEncoder

    path, local = _resolve_path(spec)
    try:
        with offline(local):
            model = CrossEncoder(path, device=spec.device, max_length=spec.max_seq_length or None,
                                 trust_remote_code=spec.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise EvsError(f"cannot load reranker '{spec.model_name_or_path}': {str(exc).splitlines()[0]}") from exc
    return model


def load_model(spec: ModelSpec):
    """The MTEB-ready model for ``spec`` (wrapping sentence-transformers models as MTEB does)."""
    if spec.is_api:
        return make_api_reranker(spec) if spec.is_cross_encoder else make_api_encoder(spec)
    from mteb.models.sentence_transformer_wrapper import CrossEncoderWrapper, SentenceTransformerEncoderWrapper

    if spec.is_cross_encoder:
        return CrossEncoderWrapper(load_local_reranker(spec))
    wrapper = SentenceTransformerEncoderWrapper(load_local_encoder(spec))
    if spec.prompt:
        wrapper.model_prompts = {"query": spec.prompt}
    return wrapper
