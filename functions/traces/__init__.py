"""GET /api/monitoring/traces: the slowest recent requests per function, with their trace ids."""
