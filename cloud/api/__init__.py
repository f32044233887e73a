"""HTTP API and web app: one FastAPI application built by `cloud.api.app.create_app`."""
