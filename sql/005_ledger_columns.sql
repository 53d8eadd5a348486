-- Columns the ledger added to tables that existed before it: a warehouse made by an earlier
-- version gains them here (a new one already has them from 001_tables.sql).
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS is_boilerplate BOOLEAN;
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS boilerplate_reason VARCHAR;
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS section_id VARCHAR;
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS section_path VARCHAR;
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS section_id VARCHAR;
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS section_path VARCHAR;
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS measure_id VARCHAR;
