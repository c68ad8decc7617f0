"""Social Flow: pipelines."""
