"""GET /api/monitoring/metrics: the tracked figures as JSON or Prometheus text, with the instance's own."""
