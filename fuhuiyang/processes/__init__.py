"""Composition roots: one module per process reads its settings and builds its resources."""
