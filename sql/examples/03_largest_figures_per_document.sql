-- The three largest counts in each document, with the sentence they come from.
select doc, metric, text, number, sentence
from (
    select m.doc, m.metric, m.text, m.number, s.text as sentence,
           row_number() over (partition by m.document_id order by m.number desc, m.start_char) as rank, m.start_char
    from fct_metric m
    join stg_sentences s using (sentence_id)
    where m.kind = 'count'
)
where rank <= 3
order by doc, number desc, start_char;
