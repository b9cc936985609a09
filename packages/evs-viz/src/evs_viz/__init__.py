"""evs-viz: a Streamlit dashboard over evs eval and perf outputs.

Import-light: nothing here imports streamlit, pandas or plotly. The file discovery and loading
logic lives in :mod:`evs_viz.data` (plain Python), the paired statistics in
:mod:`evs_core.stats`, and the Streamlit script in ``evs_viz/app.py``.
"""

def __getattr__(name: str):
    """``__version__`` is read from the installed distribution's metadata (pyproject.toml), lazily."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("evs-viz")
        except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
