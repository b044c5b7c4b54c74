"""Lambda entry for GET /api/monitoring/performance."""

from functions.performance.app import app
from shared.lambda_handler import lambda_handler

handler = lambda_handler(app)
