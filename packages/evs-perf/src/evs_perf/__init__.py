"""evs-perf: a stress tester for LLM serving endpoints (``evs perf``).

Import-light: this module imports nothing but the standard library.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evs-perf")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
