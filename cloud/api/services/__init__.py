"""Scoped reads and audited writes shared by the JSON API and the web pages."""
