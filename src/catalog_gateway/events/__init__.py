"""Events: the types a source may send and the log that keeps every answer."""
