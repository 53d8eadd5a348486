-- Facts whose as-of date lies more than a year before the document's own date:
-- figures a report repeats from an earlier year.
select m.doc, d.publish_date, m.as_of, m.as_of_source, m.text, m.metric,
       date_diff('day', m.as_of, d.publish_date) as days_older
from fct_metric m
join dim_document d using (document_id)
where m.as_of is not null and d.publish_date is not null
  and m.as_of < d.publish_date - interval 1 year
order by days_older desc, m.doc, m.start_char;
