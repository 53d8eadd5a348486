-- Growth rates: every percentage that a change verb governs as an increase, with what grew.
select m.doc, m.metric, m.number as percent, m.approx, m.as_of, m.period
from fct_metric m
where m.unit in ('%', '个百分点') and m.change = 'increase'
order by percent desc, m.doc, m.start_char;
