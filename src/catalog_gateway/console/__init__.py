"""The web console for operators: events and their traces, sources and keys, the catalog."""

from catalog_gateway.console.app import CONSOLE_PATH, mount_console

__all__ = ["CONSOLE_PATH", "mount_console"]
