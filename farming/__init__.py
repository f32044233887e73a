"""Farming knowledge: breed curves, comfort bands, THI, water and feed norms, each with its source."""
