"""`catalog-gateway ingest`: files of source payloads through the HTTP batch API."""
