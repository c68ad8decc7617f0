"""Social Flow: storage."""
