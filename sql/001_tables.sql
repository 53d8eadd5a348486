-- taizhang warehouse schema. Applied in file-name order by flows/warehouse/store.py on every run
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
    title_source  VARCHAR,               -- where each field came from (sql/010):
    publisher     VARCHAR,
    publisher_source VARCHAR,            -- title_line | signature | header | body | file | none
    publish_date  DATE,
    publish_date_source VARCHAR,
    report_year   INTEGER,               -- the publish date's year, or the file name's
    report_year_source VARCHAR,
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
    text            VARCHAR NOT NULL,
    is_boilerplate  BOOLEAN,              -- web-page furniture: no fact, item or measure comes from it
    boilerplate_reason VARCHAR,
    section_id      VARCHAR,              -- dim_section the sentence sits in
    section_path    VARCHAR,
    is_sentence_cut BOOLEAN,              -- a piece of a sentence cut at MAX_SENTENCE_CHARS (013)
    is_paragraph_cut BOOLEAN              -- in a line cut into paragraphs at MAX_PARAGRAPH_CHARS (013)
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
    as_of_source    VARCHAR NOT NULL,
    value_type      VARCHAR,              -- actual or target (sql/011)
    section_id      VARCHAR,
    section_path    VARCHAR,
    measure_id      VARCHAR,              -- fct_measure the figure sits in, if any
    metric_concept_id    VARCHAR,         -- dim_metric concept (sql/005 adds, sql/015 comments)
    metric_concept_score DOUBLE
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

-- One row per document: what the report is (title, publisher, date, region, genre).
CREATE TABLE IF NOT EXISTS dim_document (
    document_id     VARCHAR PRIMARY KEY,
    title           VARCHAR,
    title_source    VARCHAR,              -- as in stg_documents (sql/010)
    publisher       VARCHAR,
    publisher_source VARCHAR,
    publish_date    DATE,
    publish_date_source VARCHAR,
    report_year     INTEGER,
    report_year_source VARCHAR,
    region_province VARCHAR,
    region_city     VARCHAR,
    region_district VARCHAR,
    region_source   VARCHAR,
    genre           VARCHAR NOT NULL,     -- work_report | audit_report | rectification_report | discipline_feature | other
    genre_source    VARCHAR,
    file_name       VARCHAR NOT NULL,
    content_sha256  VARCHAR,
    char_count      BIGINT NOT NULL
);

-- One row per heading: the tree 第X部分 → 一、 → （一） → 1. → （1） → ①.
CREATE TABLE IF NOT EXISTS dim_section (
    section_id         VARCHAR PRIMARY KEY,
    document_id        VARCHAR NOT NULL,
    parent_section_id  VARCHAR,
    path               VARCHAR NOT NULL,  -- e.g. 二/（三）/2
    marker             VARCHAR,
    kind               VARCHAR,
    level              INTEGER NOT NULL,
    heading_text       VARCHAR NOT NULL,
    heading_start_char BIGINT NOT NULL,
    heading_end_char   BIGINT NOT NULL,
    start_char         BIGINT NOT NULL,   -- the section runs from its heading ...
    end_char           BIGINT NOT NULL    -- ... to the next heading of the same or a higher level
);

-- One row per problem addressed (关于“…”问题, 针对…问题/整改意见, 针对“举一反三”整改事项“…”).
CREATE TABLE IF NOT EXISTS fct_rectification_item (
    item_id            VARCHAR PRIMARY KEY,
    document_id        VARCHAR NOT NULL,
    section_id         VARCHAR,
    section_path       VARCHAR,
    parent_item_id     VARCHAR,           -- the group heading a problem sits under
    item_kind          VARCHAR NOT NULL,  -- problem | problem_group
    category           VARCHAR NOT NULL,  -- 具体问题 | 举一反三 | 推动改革促进发展 | 专题报告 | other
    lead_form          VARCHAR,
    marker             VARCHAR,
    problem_text       VARCHAR,
    problem_start_char BIGINT,
    problem_end_char   BIGINT,
    opinion_text       VARCHAR,
    start_char         BIGINT NOT NULL,   -- the lead (heading or lead sentence)
    end_char           BIGINT NOT NULL,
    text               VARCHAR NOT NULL,
    scope_end_char     BIGINT             -- where the item's measures end
);

-- One row per measure taken for an item (一是…二是…, or the whole paragraph).
CREATE TABLE IF NOT EXISTS fct_measure (
    measure_id    VARCHAR PRIMARY KEY,
    item_id       VARCHAR NOT NULL,
    document_id   VARCHAR NOT NULL,
    ordinal       BIGINT NOT NULL,
    enumerated    BOOLEAN NOT NULL,
    headline      VARCHAR,
    text          VARCHAR NOT NULL,
    start_char    BIGINT NOT NULL,
    end_char      BIGINT NOT NULL,
    status        VARCHAR,                -- 已完成 | 基本完成 | 正在推进 | 已整改到位 | 持续推进 | NULL
    status_phrase VARCHAR,
    metric_count  BIGINT NOT NULL         -- metric facts inside the measure
);

-- One row per organisation, normalised across documents.
CREATE TABLE IF NOT EXISTS dim_org_unit (
    org_id         VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    type           VARCHAR NOT NULL,      -- 纪委监委 | 派驻纪检监察组 | 党委 | 党委部门 | 政府部门 | 国企 | 企业 | 学校 | 医院 | other
    level          VARCHAR,               -- 省 | 市 | 区县 | 乡镇街道 | other
    parent_org_id  VARCHAR,
    mention_count  BIGINT NOT NULL,
    document_count BIGINT NOT NULL
);

-- One row per mention of an organisation in a sentence.
CREATE TABLE IF NOT EXISTS bridge_sentence_org (
    sentence_id  VARCHAR NOT NULL,
    document_id  VARCHAR NOT NULL,
    org_id       VARCHAR NOT NULL,
    start_char   BIGINT NOT NULL,
    end_char     BIGINT NOT NULL,
    mention_text VARCHAR NOT NULL
);

-- One row per supervision activity in a 纪检监察 feature: who, what action, on what.
CREATE TABLE IF NOT EXISTS fct_supervision_activity (
    activity_id       VARCHAR PRIMARY KEY,
    document_id       VARCHAR NOT NULL,
    sentence_id       VARCHAR NOT NULL,
    org_id            VARCHAR,
    supervisor_name   VARCHAR,
    body_source       VARCHAR,
    action            VARCHAR NOT NULL,
    action_text       VARCHAR NOT NULL,
    action_start_char BIGINT NOT NULL,
    action_end_char   BIGINT NOT NULL,
    target_text       VARCHAR,
    target_start_char BIGINT,
    target_end_char   BIGINT,
    target_org_id     VARCHAR,
    in_caption        BOOLEAN NOT NULL
);
