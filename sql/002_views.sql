-- Views for analysts: the facts with their document and sentence.
CREATE OR REPLACE VIEW v_metric AS
SELECT
    m.*,
    d.title,
    d.publisher,
    d.publish_date,
    s.text AS sentence
FROM fct_metric m
JOIN stg_documents d USING (document_id)
JOIN stg_sentences s USING (sentence_id);
