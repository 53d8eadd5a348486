"""Prefect flows, the CLI and every piece of I/O (files, DuckDB, Great Expectations)."""
