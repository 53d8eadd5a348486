-- Measures per category and status per document, with the count of figures behind them.
select
    d.file_name,
    i.category,
    coalesce(m.status, '(none stated)') as status,
    count(*) as measures,
    sum(m.metric_count) as figures
from fct_measure m
join fct_rectification_item i using (item_id)
join dim_document d on d.document_id = m.document_id
group by all
order by all;
