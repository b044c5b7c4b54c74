"""POST /api/monitoring/ingest: event batches from apps in any language."""
