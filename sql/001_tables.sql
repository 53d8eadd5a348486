-- taizhang warehouse schema. Applied in file-name order by flows/warehouse.py on every run
-- (CREATE ... IF NOT EXISTS), so a fresh warehouse and an old one end up the same.

-- One row per ingested file: where it came from and how it was read.
CREATE TABLE IF NOT EXISTS raw_documents (
    document_id   VARCHAR NOT NULL,      -- first 16 hex digits of the SHA-256 of the decoded text
    content_sha256 VARCHAR NOT NULL,     -- full SHA-256 of the decoded text (UTF-8)
    source_path   VARCHAR NOT NULL,      -- path the file was read from
    file_name     VARCHAR NOT NULL,
    size_bytes    BIGINT NOT NULL,
    encoding      VARCHAR NOT NULL,      -- encoding the bytes were decoded with
    ingested_at   TIMESTAMP NOT NULL,
    text          VARCHAR NOT NULL,      -- the decoded text; all offsets refer to it
    PRIMARY KEY (document_id, source_path)
);

-- One row per document: what the text says about itself.
CREATE TABLE IF NOT EXISTS stg_documents (
    document_id   VARCHAR PRIMARY KEY,
    file_name     VARCHAR NOT NULL,
    title         VARCHAR,
    publisher     VARCHAR,
    publish_date  DATE,
    char_count    BIGINT NOT NULL
);

-- One row per sentence.
CREATE TABLE IF NOT EXISTS stg_sentences (
    sentence_id     VARCHAR PRIMARY KEY,  -- document_id:sequence
    document_id     VARCHAR NOT NULL,
    paragraph_index INTEGER NOT NULL,
    sentence_index  INTEGER NOT NULL,     -- within the paragraph
    start_char      BIGINT NOT NULL,
    end_char        BIGINT NOT NULL,
    text            VARCHAR NOT NULL
);

-- The unit dictionary (seeds/units.csv).
CREATE TABLE IF NOT EXISTS dim_unit (
    written    VARCHAR PRIMARY KEY,       -- as it appears in text
    unit       VARCHAR NOT NULL,          -- the unit as the annotation guide writes it
    canonical  VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    factor     DOUBLE NOT NULL            -- value_canonical = number * factor
);

-- One row per quantity mention (the annotation guide's metric fact).
CREATE TABLE IF NOT EXISTS fct_metric (
    metric_id       VARCHAR PRIMARY KEY,  -- document_id:start_char-end_char
    document_id     VARCHAR NOT NULL,
    sentence_id     VARCHAR NOT NULL,
    doc             VARCHAR NOT NULL,     -- file name
    start_char      BIGINT NOT NULL,
    end_char        BIGINT NOT NULL,
    text            VARCHAR NOT NULL,
    number          DOUBLE NOT NULL,
    unit            VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    approx          VARCHAR,
    change          VARCHAR,
    metric          VARCHAR,
    borderline      BOOLEAN NOT NULL,
    unit_canonical  VARCHAR NOT NULL,
    value_canonical DOUBLE NOT NULL,
    as_of           DATE,
    period          VARCHAR,
    as_of_source    VARCHAR NOT NULL
);

-- One row per flow run.
CREATE TABLE IF NOT EXISTS etl_run (
    run_id        VARCHAR PRIMARY KEY,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP NOT NULL,
    input_dir     VARCHAR NOT NULL,
    documents     INTEGER NOT NULL,
    sentences     INTEGER NOT NULL,
    facts         INTEGER NOT NULL,
    checks_passed INTEGER NOT NULL,
    checks_failed INTEGER NOT NULL
);

-- One row per expectation evaluated in a run.
CREATE TABLE IF NOT EXISTS dq_result (
    run_id           VARCHAR NOT NULL,
    table_name       VARCHAR NOT NULL,
    expectation      VARCHAR NOT NULL,
    severity         VARCHAR NOT NULL,
    success          BOOLEAN NOT NULL,
    observed_value   VARCHAR,
    unexpected_count BIGINT,
    sample           VARCHAR
);

-- One row per input file that could not be processed, with a reason a person can read.
CREATE TABLE IF NOT EXISTS quarantine (
    source_path    VARCHAR NOT NULL,
    reason         VARCHAR NOT NULL,
    size_bytes     BIGINT NOT NULL,
    first_bytes_hex VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);
