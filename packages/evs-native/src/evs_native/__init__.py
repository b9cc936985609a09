"""evs-native: the eval engine and the built-in benchmarks."""

def __getattr__(name: str):
    """``__version__`` is read from the installed distribution's metadata (pyproject.toml), lazily."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("evs-native")
        except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
