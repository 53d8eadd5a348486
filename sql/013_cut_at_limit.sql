-- Sentences and paragraphs are bounded (issue 24): a sentence longer than 1,000 characters is cut
-- into pieces, a line longer than 5,000 into paragraphs (transforms/stg_sentences.py,
-- MAX_SENTENCE_CHARS and MAX_PARAGRAPH_CHARS), and the rows of a cut unit say so. Applied on every
-- load; idempotent. A new warehouse has both columns from 001_tables.sql; one written before
-- gains them here, NULL for its old rows until they are extracted again.
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS is_sentence_cut BOOLEAN;
ALTER TABLE stg_sentences ADD COLUMN IF NOT EXISTS is_paragraph_cut BOOLEAN;
COMMENT ON COLUMN stg_sentences.is_sentence_cut IS '超长句被截断：原句超过 1000 字，此行为其一段（尽量断在逗号、分号处） / a piece of a sentence longer than 1,000 characters, cut at that limit (at a comma or semicolon where there is one)';
COMMENT ON COLUMN stg_sentences.is_paragraph_cut IS '超长段被截断：所在行超过 5000 字，按句切为多段 / the line it is in ran past 5,000 characters and was cut into paragraphs between sentences';
