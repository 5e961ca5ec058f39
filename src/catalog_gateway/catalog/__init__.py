"""The catalog domain: models, key rules, the run state machine, upserts and reads.

Knows nothing of HTTP, of sources' own data shapes, or of external systems.
"""
