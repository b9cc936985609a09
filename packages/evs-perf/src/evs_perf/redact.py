"""Secrets out of everything ``evs perf`` writes or prints.

The secrets of a run are the API key, the value of every credential header (``Authorization``,
``Proxy-Authorization``, ``Api-Key``, ``X-Api-Key``, ``Cookie`` … and the token after
``Bearer``/``Basic``), and the userinfo of the URL. :func:`redact` replaces each of them by
``***`` wherever it appears (a server that echoes the key in its error body included), and
masks ``Bearer <token>`` and ``scheme://user:pass@`` patterns that are not known secrets.

Where evs-core provides the shared redaction (``evs_core.redact.Redactor``) it is applied
first, with the same secrets; perf's own list (any ``*-key``/``*token*`` header, the base64
of the URL's userinfo) and patterns are applied on top.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
SECRET_HEADERS = {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "x-auth-token",
                  "openai-api-key", "x-goog-api-key", "anthropic-api-key"}
_PATTERNS = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"), lambda m: f"{m.group(1)} {MASK}"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), lambda m: f"{m.group(1)}{MASK}@"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), lambda m: MASK),
]


def secrets_of(api_key: str | None, headers: dict[str, str] | None, url: str | None) -> list[str]:
    out = set()
    if api_key:
        out.add(str(api_key))
    for name, value in (headers or {}).items():
        if name.lower() in SECRET_HEADERS or "token" in name.lower() or "secret" in name.lower() or \
                name.lower().endswith("-key"):
            value = str(value).strip()
            if value:
                out.add(value)
                scheme, _, token = value.partition(" ")
                if token.strip() and scheme.lower() in ("bearer", "basic", "token", "apikey"):
                    out.add(token.strip())
    if url:
        parts = urlsplit(url)
        if parts.username or parts.password:
            for x in (parts.username, parts.password):
                if x and len(x) >= 3:
                    out.add(x)
                    out.add(unquote(x))
    return sorted((s for s in out if len(s) >= 3), key=len, reverse=True)


def strip_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``(url without user:pass@, (user, password) or None)``."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return (urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)),
            (unquote(parts.username or ""), unquote(parts.password or "")))


@lru_cache(maxsize=32)
def _core(secrets: tuple):
    """evs-core's shared Redactor for these secrets, where evs-core has one."""
    try:
        from evs_core.redact import Redactor
    except ImportError:
        return None
    return Redactor(secrets)


def redact(text: str, secrets=()) -> str:
    if not text or not isinstance(text, str):
        return text
    core = _core(tuple(secrets))
    if core is not None:
        text = core.text(text)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    for rx, repl in _PATTERNS:
        text = rx.sub(repl, text)
    return text


def redact_obj(obj: Any, secrets=()) -> Any:
    """A copy of a JSON-like value with every string redacted (and, with evs-core's Redactor,
    the values of credential keys such as ``api_key`` masked)."""
    core = _core(tuple(secrets))
    if core is not None:
        obj = core.obj(obj)
    return _walk(obj, secrets)


def _walk(obj: Any, secrets) -> Any:
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, dict):
        return {k: _walk(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_walk(v, secrets) for v in obj]
    return obj
