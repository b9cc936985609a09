"""Request bodies of a prompt: ``--prompt``, ``--query-template``, ``--apply-chat-template``,
sampling and stop options, ``--extra-body``.

Order: the API builds its body from the prompt (``messages`` or ``prompt``, ``max_tokens``,
streaming with usage, the request options of :attr:`PerfAPI.OPTIONS`); a query template
replaces or extends it; ``--extra-body`` is merged last, so any field can be set or overridden
from it (as EvalScope's ``--extra-args`` and the OpenAI SDK's ``extra_body``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from evs_core.errors import ConfigError

_PLACEHOLDERS = ("{prompt}", "%p", "{model}", "%m", "{max_tokens}")


def _fill(value, prompt_text: str, model: str, max_tokens):
    if isinstance(value, str):
        if value in ("{max_tokens}",):
            return max_tokens
        return (value.replace("{prompt}", prompt_text).replace("%p", prompt_text)
                .replace("{model}", model).replace("%m", model))
    if isinstance(value, dict):
        return {k: _fill(v, prompt_text, model, max_tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, prompt_text, model, max_tokens) for v in value]
    return value


def parse_query_template(text: str | None):
    """``None``; a dict (a JSON request-body template, placeholders ``{prompt}``/``%p``,
    ``{model}``/``%m``, ``{max_tokens}``); or a str (a text template around each prompt)."""
    if not text:
        return None
    s = text.strip()
    if re.match(r'\{\s*"', s):
        try:
            obj = json.loads(s)
        except ValueError as exc:
            raise ConfigError(f"--query-template looks like JSON but is not valid: {exc}") from None
        if not isinstance(obj, dict):
            raise ConfigError("--query-template must be a JSON object or a text with {prompt}")
        return obj
    if "{prompt}" not in text and "%p" not in text:
        raise ConfigError("--query-template: a text template needs {prompt} (or %p) where the prompt goes")
    return text


def prompt_text(prompt) -> str:
    if prompt.text is not None:
        return prompt.text
    parts = []
    for m in prompt.messages or ():
        c = m.get("content", "")
        parts.append(c if isinstance(c, str) else " ".join(p.get("text", "") for p in c if isinstance(p, dict)))
    return "\n".join(parts)


def shape_body(cfg, api, prompt, stream: bool, extra: dict[str, Any]) -> dict[str, Any]:
    tpl = getattr(cfg, "_query_template_parsed", None)
    if tpl is None and cfg.query_template:
        tpl = parse_query_template(cfg.query_template)
        object.__setattr__(cfg, "_query_template_parsed", tpl)
    if isinstance(tpl, str) and prompt.text is not None:
        prompt.text = tpl.replace("{prompt}", prompt.text).replace("%p", prompt.text)
    chat_tpl = getattr(cfg, "_chat_template", None)
    if chat_tpl is not None and not api.chat:
        msgs = prompt.messages or [{"role": "user", "content": prompt.text or ""}]
        prompt.text = chat_tpl(msgs)
        prompt.messages = None
    body = api.build_body(prompt, stream)
    if isinstance(tpl, dict):
        filled = _fill(tpl, prompt_text(prompt), api.config["model"], prompt.max_tokens)
        body.update(filled)
        if stream and api.streaming:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})
    body.update(extra)
    return body
