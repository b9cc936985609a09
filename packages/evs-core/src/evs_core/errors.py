"""User-facing errors.

An :class:`EvsError` carries a one-line message meant for the person at the terminal. The CLI
prints it as ``Error: <message>`` and exits with status 2 (bad input) or 1 (runtime failure);
it never shows a traceback for one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EvsError(Exception):
    """An error whose message is shown to the user as is, on one line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ConfigError(EvsError):
    """Bad configuration: unknown key, bad value, missing file. Raised before any model call."""


class MissingDependencyError(EvsError, ImportError):
    """An optional dependency is missing; the message says which package to install."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def require(module: str, feature: str, install: str):
    """Import ``module`` or raise :class:`MissingDependencyError` saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(f"{feature} needs {module.split('.')[0]}: pip install \"{install}\"") from exc
