"""evs-core: the contracts every evs package builds on.

Importing this package is cheap: it pulls in only the standard library, pluggy and pydantic
on demand. Heavy libraries (torch, transformers, datasets) are imported inside the functions
that need them, never here.
"""

from evs_core.errors import EvsError


def __getattr__(name: str):
    """``__version__`` is read from the installed distribution's metadata (pyproject.toml), lazily."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("evs-core")
        except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cache_dir():
    """evs's cache folder: ``$EVS_CACHE_DIR``, default ``~/.cache/evs`` (converted models, prompts)."""
    import os
    from pathlib import Path

    return Path(os.environ.get("EVS_CACHE_DIR") or Path.home() / ".cache" / "evs").expanduser()


__all__ = ["EvsError", "__version__", "cache_dir"]
