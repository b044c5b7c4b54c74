"""Lambda entry for POST /api/monitoring/ingest."""

from functions.ingest.app import app
from shared.lambda_handler import lambda_handler

handler = lambda_handler(app)
