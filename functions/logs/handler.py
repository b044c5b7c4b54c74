"""Lambda entry for GET /api/monitoring/logs."""

from functions.logs.app import app
from shared.lambda_handler import lambda_handler

handler = lambda_handler(app)
