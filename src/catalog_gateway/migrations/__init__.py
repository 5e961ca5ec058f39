"""Alembic migrations, shipped inside the package so `catalog-gateway db upgrade` finds them."""
