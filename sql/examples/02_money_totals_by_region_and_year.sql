-- Money figures by region and year, in canonical 元 (sum and count), for each currency.
select
    coalesce(d.region_province, '(unknown)') as province,
    coalesce(d.region_city, '') as city,
    year(coalesce(m.as_of, d.publish_date)) as year,
    m.unit_canonical as currency,
    count(*) as figures,
    sum(m.value_canonical) as total
from fct_metric m
join dim_document d using (document_id)
where m.kind = 'money'
group by all
order by province, city, year, currency;
