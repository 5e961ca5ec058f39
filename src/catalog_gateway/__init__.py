"""Catalog Gateway: the course catalog and the gateway through which lines of business feed it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("catalog-gateway")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
