"""uvicorn factory for `fuhuiyang cloud api`: settings from the FUHUIYANG_* environment."""

from __future__ import annotations

from fastapi import FastAPI

from cloud.api.app import create_app as _create_app


def create_app() -> FastAPI:
    return _create_app()
