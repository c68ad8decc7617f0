"""The search index's implementations: PostgreSQL full-text search and SQLite FTS5."""
