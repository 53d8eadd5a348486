-- Columns the ledger added to tables that existed before it: a warehouse made by an earlier
-- version gains them here (a new one already has them from 001_tables.sql).
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS is_boilerplate BOOLEAN;
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS boilerplate_reason VARCHAR;
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS section_id VARCHAR;
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS section_path VARCHAR;
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS section_id VARCHAR;
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS section_path VARCHAR;
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS measure_id VARCHAR;
-- Where each of a document's header fields came from (issue 23; their comments are in 010). They
-- are added here, before 007 re-creates v_document over dim_document.*, so that the view has them
-- when 010 comments on its columns.
ALTER TABLE stg_documents ADD COLUMN IF NOT EXISTS title_source VARCHAR;
ALTER TABLE stg_documents ADD COLUMN IF NOT EXISTS publisher_source VARCHAR;
ALTER TABLE stg_documents ADD COLUMN IF NOT EXISTS publish_date_source VARCHAR;
ALTER TABLE stg_documents ADD COLUMN IF NOT EXISTS report_year INTEGER;
ALTER TABLE stg_documents ADD COLUMN IF NOT EXISTS report_year_source VARCHAR;
ALTER TABLE dim_document ADD COLUMN IF NOT EXISTS title_source VARCHAR;
ALTER TABLE dim_document ADD COLUMN IF NOT EXISTS publisher_source VARCHAR;
ALTER TABLE dim_document ADD COLUMN IF NOT EXISTS publish_date_source VARCHAR;
ALTER TABLE dim_document ADD COLUMN IF NOT EXISTS report_year INTEGER;
ALTER TABLE dim_document ADD COLUMN IF NOT EXISTS report_year_source VARCHAR;
ALTER TABLE dim_document ADD COLUMN IF NOT EXISTS region_source VARCHAR;
ALTER TABLE dim_document ADD COLUMN IF NOT EXISTS genre_source VARCHAR;
-- fct_metric.value_type (issue 23, sql/011 comments it): added here, before 007 re-creates v_metric
-- over fct_metric.*, so that the view has the column on a warehouse written before it.
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS value_type VARCHAR;
-- fct_metric's conformed metric (issue 27, sql/015 comments it): added here for the same reason.
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS metric_concept_id VARCHAR;
ALTER TABLE fct_metric ADD COLUMN IF NOT EXISTS metric_concept_score DOUBLE;
