"""GET /api/health: liveness."""
