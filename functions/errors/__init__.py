"""GET /api/monitoring/errors: error groups over a window."""
