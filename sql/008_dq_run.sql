-- One row per data-quality run: how many checks passed and failed, by severity.
CREATE TABLE IF NOT EXISTS dq_run (
    run_id          VARCHAR PRIMARY KEY,  -- etl_run.run_id
    validated_at    TIMESTAMP NOT NULL,   -- UTC, when the run started
    tables          INTEGER NOT NULL,     -- tables validated
    checks          INTEGER NOT NULL,     -- expectations evaluated
    passed          INTEGER NOT NULL,
    failed_critical INTEGER NOT NULL,     -- > 0: the load was refused
    failed_warning  INTEGER NOT NULL,
    success         BOOLEAN NOT NULL      -- failed_critical = 0
);
