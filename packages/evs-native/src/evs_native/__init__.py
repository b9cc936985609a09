"""evs-native: the eval engine and the built-in benchmarks."""

__version__ = "0.1.0"
