-- Who supervised what in the 纪检监察 features: activities per supervising body and action.
select coalesce(a.supervisor_name, '(unnamed)') as body, a.action, count(*) as activities
from fct_supervision_activity a
group by all
order by activities desc, body, a.action
limit 30;
