-- Incremental loads: document history, removed files, script flag, quarantine per run.
-- Applied after 001/002 on every load; each statement is idempotent (IF NOT EXISTS / OR REPLACE),
-- so a warehouse made before this file gains the columns and a new one is created with them.

-- How the text was written: 'simplified', 'traditional' (share of traditional-only characters,
-- as OpenCC's table defines them), or 'none' (no Chinese characters to judge by).
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS script VARCHAR;
-- Set when a run over the folder this file came from no longer found it (or could no longer
-- read it). The row and its facts stay; NULL means the file is current.
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS removed_at TIMESTAMP;
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS removed_reason VARCHAR;

-- The run that quarantined the file (etl_run.run_id); NULL for rows written before this column.
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS run_id VARCHAR;

-- Earlier versions of documents: a raw_documents row moves here, text and all, when the file at
-- its path changes, or when a full refresh drops it. Nothing a run replaces is lost.
CREATE TABLE IF NOT EXISTS document_version (
    document_id     VARCHAR NOT NULL,
    content_sha256  VARCHAR NOT NULL,
    source_path     VARCHAR NOT NULL,
    file_name       VARCHAR NOT NULL,
    size_bytes      BIGINT NOT NULL,
    encoding        VARCHAR NOT NULL,
    script          VARCHAR,
    ingested_at     TIMESTAMP NOT NULL,   -- when this version was read
    removed_at      TIMESTAMP,            -- when it had been marked removed, if it had
    removed_reason  VARCHAR,
    text            VARCHAR NOT NULL,
    superseded_at   TIMESTAMP NOT NULL,   -- when the run that replaced or dropped it read its input
    superseded_by   VARCHAR,              -- document_id now at the same path; NULL when dropped
    reason          VARCHAR NOT NULL      -- in plain words: changed, or dropped by a full refresh
);  -- no key: (source_path, superseded_at) names a version, but a replayed run may repeat one

-- Documents with at least one current (not removed) path: the warehouse's present state.
CREATE OR REPLACE VIEW current_documents AS
SELECT DISTINCT document_id FROM raw_documents WHERE removed_at IS NULL;

-- One row per path ever loaded: is it current or removed, and how many earlier versions it had.
CREATE OR REPLACE VIEW document_status AS
SELECT
    r.source_path,
    r.file_name,
    r.document_id,
    CASE WHEN r.removed_at IS NULL THEN 'current' ELSE 'removed' END AS status,
    r.ingested_at,
    r.removed_at,
    r.removed_reason,
    (SELECT count(*) FROM document_version v WHERE v.source_path = r.source_path) AS earlier_versions
FROM raw_documents r;
