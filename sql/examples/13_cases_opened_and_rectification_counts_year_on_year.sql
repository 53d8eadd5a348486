-- Cases opened (立案), sanctions, problems raised and rectification measures per region and year,
-- with the year before beside them (issue 27). 立案, 立案审查调查 and 立案数 are one concept in
-- dim_metric. A report may give a total and its parts: the largest figure of a region's year in
-- each unit (件, 人, 条, 项 …) is taken as its total (figures are never added up).
WITH yearly AS (
    SELECT
        metric_concept_id,
        concept_name_zh,
        region,
        coalesce(year(as_of), report_year) AS year,
        unit,
        max(value) AS value
    FROM v_metric_series
    WHERE concept_kind = 'level'
      AND value_type = 'actual'
      AND metric_concept_id IN (
          'cases_opened', 'disciplinary_sanctions', 'accountability', 'talks_and_letters',
          'problem_clues', 'feedback_problems', 'rectification_measures', 'rectified_problems'
      )
    GROUP BY ALL
)
SELECT
    concept_name_zh AS concept,
    region,
    year,
    value,
    unit,
    lag(value) OVER (PARTITION BY metric_concept_id, region, unit ORDER BY year) AS value_year_before
FROM yearly
ORDER BY concept, region, unit, year;
