"""tierwatch for your app: what an application imports to report to a deployed tierwatch bundle.

Only this package is installed into an app; the bundle's own folders (``shared``, ``functions``,
``devstack``) never are, so nothing with a generic top-level name lands in a user's site-packages.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
