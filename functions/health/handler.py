"""Lambda entry for GET /api/health."""

from functions.health.app import app
from shared.lambda_handler import lambda_handler

handler = lambda_handler(app)
