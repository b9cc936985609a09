"""Evaluation backends: third-party evaluators run by ``evs eval --eval-backend NAME``.

A backend takes its own configuration file (``--eval-config``, YAML or JSON, in the backend's
own format, e.g. EvalScope's VLMEvalKit keys) plus the evs options that apply to every run, and
returns evs reports, written in the usual run-folder layout so that ``evs viz`` and comparisons
read them like native results. Backends are registered through ``evs_register_eval_backends``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evs_core.schema import Report


@dataclass
class BackendOptions:
    """The evs options a backend honours."""

    work_dir: str = "outputs"
    concurrency: int | None = None  # requests in flight; None keeps the backend's own setting
    limit: int | float | None = None
    api_key: str | None = None
    no_progress: bool = False
    console: Any = None


class EvalBackend:
    """Base class of evaluation backends."""

    name = "base"

    def check(self, eval_config: dict[str, Any]) -> None:
        """Validate the configuration; raise :class:`~evs_core.errors.ConfigError` before any work."""

    def run(self, eval_config: dict[str, Any], options: BackendOptions) -> dict[str, Report]:
        raise NotImplementedError


def load_backend_config(path: str | Path) -> dict[str, Any]:
    """A backend's configuration file (YAML or JSON); an ``eval_config`` key (EvalScope's task
    layout) is unwrapped."""
    from evs_core.config import load_config_file

    data = load_config_file(path)
    if isinstance(data.get("eval_config"), dict):
        data = data["eval_config"]
    return data
