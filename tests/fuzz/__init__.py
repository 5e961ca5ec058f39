"""Fuzzing and property tests: schemathesis against the served OpenAPI, hypothesis on events."""
