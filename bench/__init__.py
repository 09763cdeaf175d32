"""Benchmark scripts: each prints a markdown table (run with `python -m bench.NAME`)."""
