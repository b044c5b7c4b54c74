"""tierwatch for your app: what an application imports to report to a deployed tierwatch bundle.

- ``tierwatch.Client``: buffers events in the process and sends them to the bundle's
  ``POST /api/monitoring/ingest`` in few batches (configured from ``TIERWATCH_URL`` and
  ``TIERWATCH_INGEST_TOKEN``; without them, a no-op that says so once).
- ``tierwatch.asgi.TierwatchMiddleware``: request tracking for FastAPI, Starlette or any ASGI app.
- ``tierwatch.lambda_handler.track``: the same for plain AWS Lambda handlers.

Standard library only: importing it never pulls in a web framework or an HTTP client. Only this package
is installed into an app; the bundle's own folders (``shared``, ``functions``, ``devstack``) never are, so
nothing with a generic top-level name lands in a user's site-packages.
"""

from tierwatch._runtime import set_user
from tierwatch._version import __version__
from tierwatch.client import Client, Stats, default_client

__all__ = ["Client", "Stats", "__version__", "default_client", "set_user"]
