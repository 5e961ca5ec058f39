"""The gateway: from an event in a source's shape to an applied, published product and an
answer that says exactly what happened."""
