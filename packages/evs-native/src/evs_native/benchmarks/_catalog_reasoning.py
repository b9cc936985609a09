"""Catalogue of reasoning benchmarks."""

BENCHMARKS: dict = {}
