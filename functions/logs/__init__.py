"""GET /api/monitoring/logs: recent log lines and counts by level."""
