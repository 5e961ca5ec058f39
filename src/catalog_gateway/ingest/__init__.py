"""Bulk ingestion: a file of source payloads sent through the gateway's HTTP batch API.

`readers` (file → records) → `identity` (records → events) → `sender` over `client` (events →
replies) → `report`; `full_sync` retires what the file no longer holds; `command` runs it all.
"""

from catalog_gateway.ingest.command import IngestOptions, ingest
from catalog_gateway.ingest.readers import FileFormat, InputError, SourceRecord, read_records

__all__ = ["FileFormat", "IngestOptions", "InputError", "SourceRecord", "ingest", "read_records"]
