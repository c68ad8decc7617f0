"""Social Flow: fingerprint."""
