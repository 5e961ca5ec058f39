"""Throttling and load shedding: a flood from one source never takes the catalog down."""
