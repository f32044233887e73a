"""Benchmarks behind `fuhuiyang bench ...`, one module per bench; each prints JSON."""
