"""Document ingestion tasks."""
