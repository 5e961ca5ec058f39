"""API keys: issued once, stored hashed, checked in constant time, revocable."""
