"""The warehouse: reading the input folder, the tables a document yields, loading them into DuckDB,
and its state."""
