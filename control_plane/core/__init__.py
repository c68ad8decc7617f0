"""Shared infrastructure of the control plane: settings, the database, key-value store, pub/sub,
logging, mail, rate limits and the error tree. No domain lives here; every domain may use it."""
