"""Lambda entry for GET /api/monitoring/traces."""

from functions.traces.app import app
from shared.lambda_handler import lambda_handler

handler = lambda_handler(app)
