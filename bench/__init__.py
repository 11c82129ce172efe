"""Benchmarks: the engine against the raw drivers and the obvious peer design (``python -m bench.run``)."""
