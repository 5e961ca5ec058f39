"""Reference peers for development, demos and tests (never used in production)."""
