"""Catalogue of knowledge benchmarks."""

BENCHMARKS: dict = {}
