"""One redaction for everything evs writes or prints.

A :class:`Redactor` knows the run's secrets (from :func:`secrets_from`) and removes them, and
anything shaped like a credential, from text and from JSON-like objects::

    from evs_core.redact import Redactor, secrets_from

    red = Redactor(secrets_from(config))      # config: a TaskConfig or a dict of one
    red.text("HTTP 401: bad key sk-123")      # -> "HTTP 401: bad key ***"
    red.obj({"api_key": "sk-123", "headers": {"Authorization": "Bearer sk-123"}})
    # -> {"api_key": "***", "headers": {"Authorization": "***"}}

What is removed:

* every secret value wherever it appears (also JSON- and URL-escaped), e.g. a key that a server
  echoes back in its 401 body;
* values of credential keys in mappings: ``api_key``, ``Authorization``, ``Api-Key``,
  ``X-Api-Key``, ``Proxy-Authorization``, ``password``, ``token``… (``"EMPTY"`` and empty values
  are kept: they are not secrets);
* ``Bearer …``/``Basic …`` credentials and ``Authorization:``/``Api-Key:`` header lines in text;
* the user-info part of URLs (``https://user:pass@host`` → ``https://***@host``).

The redaction is idempotent and never raises. ``Redactor()`` without secrets still applies the
patterns (used on files written by other tools, e.g. EvalScope runs shown by ``evs viz``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

MASK = "***"

#: Mapping keys whose values are credentials (compared lower-case, ``-`` and ``_`` alike).
SECRET_KEYS = {"api_key", "apikey", "authorization", "proxy_authorization", "x_api_key", "api_token", "token",
               "access_token", "password", "secret", "openai_api_key", "wandb_api_key", "swanlab_api_key",
               "x_goog_api_key", "ocp_apim_subscription_key"}
#: Values that are placeholders, not secrets.
NOT_SECRET = {"", "EMPTY", "empty", "none", "None", "null", MASK}

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/\s@'\"<>]+)@")
_AUTH_SCHEME = re.compile(r"(?i)\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=:-]{4,}")
_HEADER_LINE = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-api-key|api-key|x-goog-api-key)(\"?\s*[:=]\s*\"?)"
    r"(?!\*\*\*)[^\s\",'}{\[]+(?:\s+[^\s\",'}]+)?")
_MIN_SECRET = 4  # shorter values would mask ordinary words


def _norm_key(key: Any) -> str:
    return str(key).strip().lower().replace("-", "_")


def is_secret_key(key: Any) -> bool:
    return _norm_key(key) in SECRET_KEYS


class Redactor:
    """Removes ``secrets`` and credential-shaped text from strings and JSON-like objects."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        forms: set[str] = set()
        for s in secrets:
            if not isinstance(s, str):
                continue
            s = s.strip()
            if s in NOT_SECRET or len(s) < _MIN_SECRET:
                continue
            forms.update({s, json.dumps(s)[1:-1], quote(s, safe=""), quote(s)})
        # longest first, so a secret that contains another is removed whole
        self._secrets = sorted((f for f in forms if len(f) >= _MIN_SECRET), key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(f) for f in self._secrets)) if self._secrets else None

    @property
    def secrets(self) -> list[str]:
        return list(self._secrets)

    def text(self, s: Any) -> Any:
        """``s`` with secrets and credentials masked; non-strings are returned unchanged."""
        if not isinstance(s, str) or not s:
            return s
        if self._pattern is not None:
            s = self._pattern.sub(MASK, s)
        s = _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", s)
        s = _AUTH_SCHEME.sub(lambda m: m.group(1) + " " + MASK, s)
        s = _HEADER_LINE.sub(lambda m: m.group(1) + m.group(2) + MASK, s)
        return s

    def obj(self, o: Any) -> Any:
        """A copy of a JSON-like object with credential keys' values masked and all strings redacted."""
        if isinstance(o, dict):
            out = {}
            for k, v in o.items():
                if is_secret_key(k) and isinstance(v, str) and v.strip() not in NOT_SECRET:
                    out[k] = MASK
                elif is_secret_key(k) and isinstance(v, (dict, list)) and v:
                    out[k] = MASK
                else:
                    out[k] = self.obj(v)
            return out
        if isinstance(o, list):
            return [self.obj(v) for v in o]
        if isinstance(o, tuple):
            return tuple(self.obj(v) for v in o)
        return self.text(o)

    def logging_filter(self) -> logging.Filter:
        """A filter that redacts every record passing a handler (message and arguments)."""
        red = self

        class _Filter(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                try:
                    record.msg = red.text(record.getMessage())
                    record.args = None
                except Exception:  # noqa: BLE001 - never lose a log line to redaction
                    pass
                return True

        return _Filter()


def _userinfo_secrets(url: Any) -> list[str]:
    if not isinstance(url, str) or "@" not in url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    out = []
    if parts.password:
        out.append(parts.password)
    if parts.username and parts.password:
        out.append(f"{parts.username}:{parts.password}")
    return out


def _header_secrets(headers: Any) -> list[str]:
    out: list[str] = []
    if isinstance(headers, dict):
        for k, v in headers.items():
            if is_secret_key(k) and isinstance(v, str):
                out.append(v)
                scheme, _, token = v.partition(" ")
                if token and scheme.lower() in ("bearer", "basic", "token"):
                    out.append(token.strip())
    return out


def secrets_from(config: Any) -> list[str]:
    """The secrets of a run configuration (a TaskConfig, or any dict such as a perf config).

    API keys (``api_key`` at any depth, e.g. the judge's), credential headers
    (``model_args.headers``, ``headers``, ``extra_headers``), and passwords in URL user-info.
    """
    if hasattr(config, "model_dump"):
        config = config.model_dump()
    found: list[str] = []

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                if is_secret_key(k) and isinstance(v, str):
                    found.append(v)
                elif _norm_key(k) in ("headers", "extra_headers"):
                    found.extend(_header_secrets(v))
                if isinstance(v, str):
                    found.extend(_userinfo_secrets(v))
                walk(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v)
        elif isinstance(o, str):
            found.extend(_userinfo_secrets(o))

    walk(config)
    return [s for s in dict.fromkeys(found) if s and s.strip() not in NOT_SECRET]


def redactor_for(config: Any) -> Redactor:
    """``Redactor(secrets_from(config))``."""
    return Redactor(secrets_from(config))
