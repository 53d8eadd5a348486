-- The organisations named in the most sentences that carry figures, and how many figures those are.
select o.name, o.type, o.level,
       count(distinct b.sentence_id) as sentences,
       count(m.metric_id) as figures
from bridge_sentence_org b
join dim_org_unit o using (org_id)
join fct_metric m on m.sentence_id = b.sentence_id
group by all
order by figures desc, sentences desc, o.name, o.type, o.level
limit 20;
