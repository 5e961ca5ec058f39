"""The event gateway over HTTP: events, batches, the event log, schemas, concurrency, CLI."""
