"""Lambda entry for GET /api/monitoring/metrics."""

from functions.metrics.app import app
from shared.lambda_handler import lambda_handler

handler = lambda_handler(app)
