"""Actors: each loads its job, calls a pipeline and returns the result to record."""
