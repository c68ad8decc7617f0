"""Social Flow: workers."""
