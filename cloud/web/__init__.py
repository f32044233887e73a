"""Server-rendered web app: farmer phone view, technician console, programme staff reports."""
