"""Lambda entry for GET /api/health/detailed."""

from functions.health_detailed.app import app
from shared.lambda_handler import lambda_handler

handler = lambda_handler(app)
