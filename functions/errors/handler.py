"""Lambda entry for GET /api/monitoring/errors."""

from functions.errors.app import app
from shared.lambda_handler import lambda_handler

handler = lambda_handler(app)
