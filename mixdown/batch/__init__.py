"""Batch rendering: many jobs of every kind, on all local cores or a Dask cluster, resumable."""
