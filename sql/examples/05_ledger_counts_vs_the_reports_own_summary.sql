-- What the ledger counted per category beside what each report says about itself
-- (针对36个具体问题，制定整改措施182条 …). A report's summary covers its whole plan;
-- the progress text may list fewer items, so the two need not agree.
with counted as (
    select i.document_id, i.category,
           count(distinct i.item_id) as items_counted,
           count(m.measure_id) as measures_counted
    from fct_rectification_item i
    left join fct_measure m using (item_id)
    where i.item_kind = 'problem'
    group by all
),
patterns(category, item_re, measure_re) as (values
    ('具体问题', '(\d+)个具体问题', '具体问题[，,]制定整改措施(\d+)条'),
    ('举一反三', '“举一反三”整改事项(\d+)个', '“举一反三”整改事项\d+个[，,]制定整改措施(\d+)条'),
    ('推动改革促进发展', '“推[动进]改革促进发展”整改事项(\d+)个',
     '“推[动进]改革促进发展”整改事项\d+个[，,]制定整改措施(\d+)条')
),
reported as (
    select s.document_id, p.category,
           max(try_cast(nullif(regexp_extract(s.text, p.item_re, 1), '') as integer)) as items_reported,
           max(try_cast(nullif(regexp_extract(s.text, p.measure_re, 1), '') as integer)) as measures_reported
    from stg_sentences s cross join patterns p
    where not coalesce(s.is_boilerplate, false)
    group by all
)
select d.file_name, c.category, c.items_counted, r.items_reported, c.measures_counted, r.measures_reported
from counted c
join dim_document d using (document_id)
left join reported r using (document_id, category)
order by d.file_name, c.category;
