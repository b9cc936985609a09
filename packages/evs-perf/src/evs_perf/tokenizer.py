"""Local tokenizers for exact random prompt lengths and for counting tokens without ``usage``.

``--tokenizer`` takes a local ``tokenizer.json`` (read with the ``tokenizers`` package) or a
local folder (``tokenizer.json`` through ``tokenizers``, else ``transformers.AutoTokenizer``
with ``local_files_only=True``). evs perf never downloads a tokenizer.
"""

from __future__ import annotations

import os
from pathlib import Path

from evs_core.errors import ConfigError, MissingDependencyError


class Tokenizer:
    """``encode(text) -> ids``, ``decode(ids) -> text``, ``vocab_ids`` (ordinary tokens)."""

    def __init__(self, encode, decode, vocab_size: int, special: set[int], name: str):
        self.encode = encode
        self.decode = decode
        self.special = special
        self.vocab_ids = [i for i in range(vocab_size) if i not in special]
        self.name = name
        self.apply_chat_template = None  # messages -> text, when the tokenizer has a chat template

    def count(self, text: str) -> int:
        return len(self.encode(text))


def load_tokenizer(path: str | None) -> Tokenizer | None:
    if not path:
        return None
    p = Path(path).expanduser()
    if not p.exists():
        raise ConfigError(f"--tokenizer: no such file or folder: {p} (evs perf only reads local tokenizers)")
    file = p if p.is_file() else p / "tokenizer.json"
    if file.is_file() and not (p.is_dir() and _has_chat_template(p)):
        try:
            from tokenizers import Tokenizer as HFTokenizer
        except ImportError:
            HFTokenizer = None
        if HFTokenizer is not None:
            tok = HFTokenizer.from_file(str(file))
            special = {tid for tid, t in tok.get_added_tokens_decoder().items() if t.special}
            return Tokenizer(lambda s: tok.encode(s, add_special_tokens=False).ids,
                             lambda ids: tok.decode(ids, skip_special_tokens=True),
                             tok.get_vocab_size(), special, str(p))
    if p.is_file():
        raise MissingDependencyError('--tokenizer with a tokenizer.json needs tokenizers: pip install "evs-perf[tokenizer]"')
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingDependencyError('--tokenizer needs transformers: pip install "evs-perf[tokenizer]"') from None
    tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    out = Tokenizer(lambda s: tok.encode(s, add_special_tokens=False),
                    lambda ids: tok.decode(ids, skip_special_tokens=True),
                    len(tok), set(tok.all_special_ids), str(p))
    if getattr(tok, "chat_template", None):
        out.apply_chat_template = lambda msgs: tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    return out


def _has_chat_template(folder: Path) -> bool:
    import json

    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    cfg = folder / "tokenizer_config.json"
    try:
        return bool(json.loads(cfg.read_text(encoding="utf-8")).get("chat_template"))
    except (OSError, ValueError):
        return False
