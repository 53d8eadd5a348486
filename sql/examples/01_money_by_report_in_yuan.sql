-- How much money, in 元, did each report mention, and in which sentences?
-- (Every money figure in canonical 元, with its metric and the sentence it came from.)
select
    d.title,
    m.text as figure,
    m.metric,
    m.value_canonical as yuan,
    s.text as sentence
from fct_metric m
join dim_document d using (document_id)
join stg_sentences s using (sentence_id)
where m.kind = 'money' and m.unit_canonical = '元'
order by d.title, yuan desc, m.start_char;
