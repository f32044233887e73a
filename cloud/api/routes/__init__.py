"""API route modules, one per resource family, mounted under /api/v1 by the app."""
