"""evs-perf: a stress tester for LLM serving endpoints (``evs perf``).

Import-light: this module imports nothing but the standard library.
"""

__version__ = "0.1.0"
