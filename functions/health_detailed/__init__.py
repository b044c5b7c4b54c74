"""GET /api/health/detailed: readiness of every dependency."""
