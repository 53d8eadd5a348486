-- Money figures by region and year: how many, and the largest with what it measures.
-- Figures measure different things (a budget, a turnover, one end of a from/to pair), so they are
-- counted and compared, never added up.
select
    coalesce(d.region_province, '(unknown)') as province,
    coalesce(d.region_city, '') as city,
    year(m.as_of) as year,
    m.unit_canonical as currency,
    count(*) as figures,
    max(m.value_canonical) as largest,
    -- ties on the value go to the earliest figure, so the answer is the same every time
    arg_max(m.metric, (m.value_canonical, -m.start_char, m.document_id)) as largest_metric,
    arg_max(m.text, (m.value_canonical, -m.start_char, m.document_id)) as largest_as_written
from fct_metric m
join dim_document d using (document_id)
where m.kind = 'money'
group by all
order by province, city, year, currency;
