"""Persistence plumbing: the declarative base, column types, engines, migrations."""
