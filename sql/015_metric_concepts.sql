-- Conformed metrics (issue 27): dim_metric, the concept columns of fct_metric, v_metric_series.
-- Applied on every load, after 005 (which adds fct_metric.metric_concept_id/_score before 007
-- re-creates v_metric over fct_metric.*); idempotent. dim_metric is replaced whole by each load
-- from seeds/metric_concepts.csv and seeds/metric_concept_aliases.csv.
CREATE TABLE IF NOT EXISTS dim_metric (
    metric_concept_id VARCHAR PRIMARY KEY,
    name_zh           VARCHAR NOT NULL,
    name_en           VARCHAR NOT NULL,
    unit_family       VARCHAR NOT NULL,   -- dim_unit.kind: money, percent, count, mass, …
    canonical_unit    VARCHAR NOT NULL,
    concept_kind      VARCHAR NOT NULL,   -- level, rate or change
    definition        VARCHAR NOT NULL,
    aliases           VARCHAR[]
);

COMMENT ON TABLE dim_metric IS '指标概念维度：同一计量对象在各文档中共用一个键（seeds/metric_concepts.csv） / metric concept dimension: one key per quantity across documents (seeds/metric_concepts.csv)';
COMMENT ON COLUMN dim_metric.metric_concept_id IS '概念编号（gdp_growth） / concept id (gdp_growth)';
COMMENT ON COLUMN dim_metric.name_zh IS '中文名称 / Chinese name';
COMMENT ON COLUMN dim_metric.name_en IS '英文名称 / English name';
COMMENT ON COLUMN dim_metric.unit_family IS '单位类别，即 dim_unit.kind（money、percent、count 等） / unit family, dim_unit.kind (money, percent, count, …)';
COMMENT ON COLUMN dim_metric.canonical_unit IS '规范单位（元、%、人） / canonical unit (元, %, 人)';
COMMENT ON COLUMN dim_metric.concept_kind IS '概念类型：level（总量）、rate（比率）、change（增速） / kind: level, rate or change';
COMMENT ON COLUMN dim_metric.definition IS '定义 / definition';
COMMENT ON COLUMN dim_metric.aliases IS '别名（含中文名称），用于匹配指标短语 / aliases (with the Chinese name) the metric phrase is matched against';

COMMENT ON COLUMN fct_metric.metric_concept_id IS '映射到的指标概念（dim_metric），低于阈值为 NULL / the metric concept (dim_metric) the fact maps to, NULL below the threshold';
COMMENT ON COLUMN fct_metric.metric_concept_score IS '映射得分 0-1：别名覆盖指标短语的比例 / mapping score 0-1: the share of the metric phrase the alias covers';
COMMENT ON COLUMN v_metric.metric_concept_id IS '映射到的指标概念 / the metric concept the fact maps to';
COMMENT ON COLUMN v_metric.metric_concept_score IS '映射得分 0-1 / mapping score 0-1';

-- v_metric_series: one row per mapped fact, ready to chart per concept and region ----------------
CREATE OR REPLACE VIEW v_metric_series AS
SELECT
    m.metric_concept_id,
    c.name_zh AS concept_name_zh,
    c.name_en AS concept_name_en,
    c.concept_kind,
    -- the most specific level, but not a district that only repeats the province's suffix
    -- (dim_document may read 自治区 of 西藏自治区 as a district)
    coalesce(
        CASE WHEN NOT coalesce(ends_with(d.region_province, d.region_district), false)
             THEN d.region_district END,
        d.region_city,
        d.region_province
    ) AS region,
    d.region_province,
    d.region_city,
    d.region_district,
    d.report_year,
    m.period,
    m.as_of,
    m.as_of_source,
    m.value_type,
    m.approx,
    m.value_canonical AS value,
    m.unit_canonical AS unit,
    c.canonical_unit AS concept_unit,
    m.change,
    m.metric,
    m.text,
    m.metric_concept_score,
    m.metric_id,
    m.document_id,
    m.doc,
    d.title,
    d.genre,
    m.sentence_id,
    m.start_char,
    m.end_char
FROM fct_metric m
LEFT JOIN dim_metric c ON c.metric_concept_id = m.metric_concept_id
LEFT JOIN dim_document d ON d.document_id = m.document_id
WHERE m.metric_concept_id IS NOT NULL;

COMMENT ON VIEW v_metric_series IS '指标序列：每个已映射到概念的事实一行，含地区、期间、实际/目标 / metric series: one row per fact mapped to a concept, with region, period and actual/target';
COMMENT ON COLUMN v_metric_series.metric_concept_id IS '指标概念 / metric concept';
COMMENT ON COLUMN v_metric_series.concept_name_zh IS '概念中文名 / concept name (Chinese)';
COMMENT ON COLUMN v_metric_series.concept_name_en IS '概念英文名 / concept name (English)';
COMMENT ON COLUMN v_metric_series.concept_kind IS '概念类型：level、rate、change / concept kind: level, rate, change';
COMMENT ON COLUMN v_metric_series.region IS '地区：文档所涉最具体的一级（区县、市、省） / region: the most specific the document is about (district, city, province)';
COMMENT ON COLUMN v_metric_series.region_province IS '省级地区 / province';
COMMENT ON COLUMN v_metric_series.region_city IS '市级地区 / city';
COMMENT ON COLUMN v_metric_series.region_district IS '区县 / district or county';
COMMENT ON COLUMN v_metric_series.report_year IS '文档年份 / the document''s year';
COMMENT ON COLUMN v_metric_series.period IS '数值所指期间（2025年、2021-2025年） / the period the value is for (2025年, 2021-2025年)';
COMMENT ON COLUMN v_metric_series.as_of IS '数值所指日期 / the date the value holds on';
COMMENT ON COLUMN v_metric_series.as_of_source IS 'as_of 的来源 / where as_of came from';
COMMENT ON COLUMN v_metric_series.value_type IS '实际值（actual）或目标值（target：预期目标、力争、左右等） / actual, or target (预期目标, 力争, 左右 …)';
COMMENT ON COLUMN v_metric_series.approx IS '约数：about（左右）、more_than（以上）等或 NULL / approximation: about (左右), more_than (以上), … or NULL';
COMMENT ON COLUMN v_metric_series.value IS '规范单位下的数值 / value in the canonical unit';
COMMENT ON COLUMN v_metric_series.unit IS '数值的规范单位 / the canonical unit of value';
COMMENT ON COLUMN v_metric_series.concept_unit IS '概念的规范单位（外币金额与之不同） / the concept''s canonical unit (differs for foreign-currency amounts)';
COMMENT ON COLUMN v_metric_series.change IS '变化方向：increase、decrease 或 NULL / change: increase, decrease or NULL';
COMMENT ON COLUMN v_metric_series.metric IS '原文指标短语 / the metric phrase as written';
COMMENT ON COLUMN v_metric_series.text IS '原文写法 / the figure as written';
COMMENT ON COLUMN v_metric_series.metric_concept_score IS '映射得分 0-1 / mapping score 0-1';
COMMENT ON COLUMN v_metric_series.metric_id IS '事实编号 / fact id';
COMMENT ON COLUMN v_metric_series.document_id IS '所属文档 / the document';
COMMENT ON COLUMN v_metric_series.doc IS '文件名 / file name';
COMMENT ON COLUMN v_metric_series.title IS '文档标题 / document title';
COMMENT ON COLUMN v_metric_series.genre IS '文档体裁 / document genre';
COMMENT ON COLUMN v_metric_series.sentence_id IS '所在句子 / the sentence it is in';
COMMENT ON COLUMN v_metric_series.start_char IS '起始偏移（码点） / start offset in code points';
COMMENT ON COLUMN v_metric_series.end_char IS '结束偏移（不含） / end offset, exclusive';
