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

COMMENT ON TABLE dq_run IS '数据质量运行：每次校验一行，按严重程度统计 / data-quality run: one row per validation, counts by severity';
COMMENT ON COLUMN dq_run.run_id IS '运行编号（同 etl_run.run_id） / run id (as in etl_run.run_id)';
COMMENT ON COLUMN dq_run.validated_at IS '校验开始时间（UTC） / when the validation started (UTC)';
COMMENT ON COLUMN dq_run.tables IS '校验的表数 / tables validated';
COMMENT ON COLUMN dq_run.checks IS '执行的检查数 / expectations evaluated';
COMMENT ON COLUMN dq_run.passed IS '通过的检查数 / checks passed';
COMMENT ON COLUMN dq_run.failed_critical IS '失败的关键检查数（>0 则拒绝加载） / critical checks failed (> 0: the load was refused)';
COMMENT ON COLUMN dq_run.failed_warning IS '失败的警告检查数 / warning checks failed';
COMMENT ON COLUMN dq_run.success IS '无关键失败 / no critical check failed';
