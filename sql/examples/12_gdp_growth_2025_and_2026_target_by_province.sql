-- GDP growth each province reported for 2025, and its growth target for 2026 (issue 27).
-- v_metric_series keys every figure by concept, so 地区生产总值增长, 全省生产总值增长 and 经济增长 are
-- one series: no LIKE patterns. A target written as a range (5%—5.5%) gives two rows, hence
-- min/max. Starting from dim_metric keeps one row for the concept when no report has it yet.
WITH s AS (
    SELECT *
    FROM v_metric_series
    WHERE metric_concept_id = 'gdp_growth'
      AND region = region_province  -- the province's own report, not a city's or a county's
)
SELECT
    c.name_zh AS concept,
    s.region_province AS province,
    max(s.value) FILTER (WHERE s.value_type = 'actual' AND s.period = '2025年') AS growth_2025_pct,
    min(s.value) FILTER (WHERE s.value_type = 'target' AND s.period = '2026年') AS target_2026_low_pct,
    max(s.value) FILTER (WHERE s.value_type = 'target' AND s.period = '2026年') AS target_2026_high_pct,
    any_value(s.doc) AS document
FROM dim_metric c
LEFT JOIN s ON s.metric_concept_id = c.metric_concept_id
WHERE c.metric_concept_id = 'gdp_growth'
GROUP BY c.name_zh, s.region_province
ORDER BY province;
