"""The ``etl`` flow, its deployments, and how a run executes (task runners, worker processes, stopping)."""
