"""HTTP layer: routers parse the request, call a service, shape the answer. Nothing else."""
