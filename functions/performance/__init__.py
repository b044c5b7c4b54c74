"""GET /api/monitoring/performance: per-function latency, rates and errors over a window."""
