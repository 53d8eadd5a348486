-- Where in a report the figures sit: facts per top-level section of each document.
select m.doc, split_part(m.section_path, '/', 1) as top_section, any_value(sec.heading_text) as heading,
       count(*) as figures
from fct_metric m
left join dim_section sec
  on sec.document_id = m.document_id and sec.path = split_part(m.section_path, '/', 1)
where m.section_path is not null
group by all
order by m.doc, figures desc, top_section;
