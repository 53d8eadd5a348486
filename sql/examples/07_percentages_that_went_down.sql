-- Percentages (and percentage points) that went down, with what went down and as of when.
select m.doc, m.metric, m.text, m.number, m.as_of, s.text as sentence
from fct_metric m
join stg_sentences s using (sentence_id)
where m.kind = 'percent' and m.change = 'decrease'
order by m.number desc, m.doc, m.start_char;
