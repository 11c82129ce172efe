"""Benchmarks: the engine against the raw drivers and the obvious peer (`python -m bench.run`)."""
