"""Data quality: the Great Expectations suites, the checker process that runs them, data docs, the gold
scorer."""
