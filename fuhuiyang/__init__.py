"""Fuhuiyang (富慧养): command line composition and process-level wiring."""

__version__ = "0.1.0"
