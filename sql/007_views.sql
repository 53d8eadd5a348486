-- Views that join the star for the questions analysts ask most, so that a question needs one
-- FROM and no knowledge of the keys. Every join is a LEFT JOIN: a view never loses a fact, measure
-- or document because a dimension row is missing. Applied after 002 (whose simpler v_metric this
-- replaces) on every load; CREATE OR REPLACE drops a view's comments, so they follow each view.

-- v_metric: every fact with its document, sentence, section, item, measure and organisations ----
CREATE OR REPLACE VIEW v_metric AS
WITH orgs AS (
    SELECT b.sentence_id,
           string_agg(DISTINCT o.name, '、' ORDER BY o.name) AS organisations,
           count(DISTINCT b.org_id) AS organisation_count
    FROM bridge_sentence_org b
    JOIN dim_org_unit o ON o.org_id = b.org_id
    GROUP BY b.sentence_id
)
SELECT
    m.*,
    d.title,
    d.publisher,
    d.publish_date,
    s.text AS sentence,
    d.file_name,
    d.genre,
    d.region_province,
    d.region_city,
    d.region_district,
    sec.heading_text AS section_heading,
    sec.level AS section_level,
    ms.item_id,
    i.category AS item_category,
    i.problem_text AS item_problem,
    ms.ordinal AS measure_ordinal,
    ms.headline AS measure_headline,
    ms.status AS measure_status,
    o.organisations,
    coalesce(o.organisation_count, 0) AS organisation_count,
    m.document_id IN (SELECT document_id FROM current_documents) AS is_current
FROM fct_metric m
LEFT JOIN dim_document d ON d.document_id = m.document_id
LEFT JOIN stg_sentences s ON s.sentence_id = m.sentence_id
LEFT JOIN dim_section sec ON sec.section_id = m.section_id
LEFT JOIN fct_measure ms ON ms.measure_id = m.measure_id
LEFT JOIN fct_rectification_item i ON i.item_id = ms.item_id
LEFT JOIN orgs o ON o.sentence_id = m.sentence_id;

COMMENT ON VIEW v_metric IS '指标事实宽表：每个事实连同文档、句子、章节、整改事项与措施、同句机构 / every metric fact with its document, sentence, section, item, measure and the organisations in its sentence';
COMMENT ON COLUMN v_metric.metric_id IS '事实编号：document_id:起-止 / fact id: document_id:start_char-end_char';
COMMENT ON COLUMN v_metric.document_id IS '所属文档 / the document';
COMMENT ON COLUMN v_metric.sentence_id IS '所在句子 / the sentence it is in';
COMMENT ON COLUMN v_metric.doc IS '文件名（标注规范的 doc） / file name (the guide''s doc)';
COMMENT ON COLUMN v_metric.start_char IS '起始偏移（码点） / start offset in code points';
COMMENT ON COLUMN v_metric.end_char IS '结束偏移（不含） / end offset, exclusive';
COMMENT ON COLUMN v_metric.text IS '原文写法（800余个） / the figure as written (800余个)';
COMMENT ON COLUMN v_metric.number IS '数值（已乘倍数） / the value with the multiplier applied';
COMMENT ON COLUMN v_metric.unit IS '单位（不含倍数） / the unit as written, without the multiplier';
COMMENT ON COLUMN v_metric.kind IS '量的类别：count、money、percent 等 / kind: count, money, percent, …';
COMMENT ON COLUMN v_metric.approx IS '约数：about、more_than、at_least、less_than 或 NULL / approximation, or NULL';
COMMENT ON COLUMN v_metric.change IS '变化方向：increase、decrease 或 NULL / change: increase, decrease or NULL';
COMMENT ON COLUMN v_metric.metric IS '所计量的事物 / what is measured';
COMMENT ON COLUMN v_metric.borderline IS '抽取器不确定是否为计量 / the extractor is unsure it is a measurement';
COMMENT ON COLUMN v_metric.unit_canonical IS '规范单位 / canonical unit';
COMMENT ON COLUMN v_metric.value_canonical IS '规范单位下的数值 / value in the canonical unit';
COMMENT ON COLUMN v_metric.as_of IS '数值所指日期 / the date the figure holds on';
COMMENT ON COLUMN v_metric.period IS '句中所述期间 / the period as written';
COMMENT ON COLUMN v_metric.as_of_source IS 'as_of 的来源 / where as_of came from';
COMMENT ON COLUMN v_metric.section_id IS '所在章节 / the section';
COMMENT ON COLUMN v_metric.section_path IS '所在章节路径 / path of the section';
COMMENT ON COLUMN v_metric.measure_id IS '所在整改措施 / the measure it sits in';
COMMENT ON COLUMN v_metric.title IS '文档标题 / document title';
COMMENT ON COLUMN v_metric.publisher IS '发布机构 / publisher';
COMMENT ON COLUMN v_metric.publish_date IS '发布日期 / publish date';
COMMENT ON COLUMN v_metric.sentence IS '所在句子全文 / the sentence it comes from';
COMMENT ON COLUMN v_metric.file_name IS '文件名 / file name';
COMMENT ON COLUMN v_metric.genre IS '文档体裁 / document genre';
COMMENT ON COLUMN v_metric.region_province IS '所涉省级地区 / province of the document';
COMMENT ON COLUMN v_metric.region_city IS '所涉地市 / city of the document';
COMMENT ON COLUMN v_metric.region_district IS '所涉区县 / district of the document';
COMMENT ON COLUMN v_metric.section_heading IS '所在章节标题 / heading of its section';
COMMENT ON COLUMN v_metric.section_level IS '所在章节层级 / depth of its section';
COMMENT ON COLUMN v_metric.item_id IS '所属整改事项 / the rectification item of its measure';
COMMENT ON COLUMN v_metric.item_category IS '事项类别（具体问题、举一反三…） / the item''s category';
COMMENT ON COLUMN v_metric.item_problem IS '事项的问题表述 / the item''s problem as stated';
COMMENT ON COLUMN v_metric.measure_ordinal IS '措施序号（一是=1） / the measure''s ordinal (一是 = 1)';
COMMENT ON COLUMN v_metric.measure_headline IS '措施要点 / the measure''s headline';
COMMENT ON COLUMN v_metric.measure_status IS '措施进展（已完成、正在推进…） / the measure''s status';
COMMENT ON COLUMN v_metric.organisations IS '同句中点名的机构（、分隔） / bodies named in the same sentence, separated by 、';
COMMENT ON COLUMN v_metric.organisation_count IS '同句机构数 / number of bodies named in the sentence';
COMMENT ON COLUMN v_metric.is_current IS '文档是否仍有未移除的路径 / whether the document still has a current path';

-- v_measure: every measure with its item, category, status and the figures inside it ------------
CREATE OR REPLACE VIEW v_measure AS
WITH figs AS (
    SELECT measure_id,
           count(*) AS figures,
           string_agg(text || coalesce('（' || metric || '）', ''), '；' ORDER BY start_char) AS figure_list,
           max(value_canonical) FILTER (WHERE kind = 'money' AND unit_canonical = '元') AS largest_money_yuan
    FROM fct_metric
    WHERE measure_id IS NOT NULL
    GROUP BY measure_id
)
SELECT
    ms.measure_id,
    ms.document_id,
    d.file_name,
    d.title,
    d.publish_date,
    ms.item_id,
    i.category,
    i.item_kind,
    i.marker AS item_marker,
    i.problem_text,
    i.opinion_text,
    i.parent_item_id,
    g.problem_text AS group_problem_text,
    i.section_path,
    sec.heading_text AS section_heading,
    ms.ordinal,
    ms.enumerated,
    ms.headline,
    ms.status,
    ms.status_phrase,
    ms.text,
    ms.start_char,
    ms.end_char,
    ms.metric_count,
    coalesce(f.figures, 0) AS figures,
    f.figure_list,
    f.largest_money_yuan
FROM fct_measure ms
LEFT JOIN fct_rectification_item i ON i.item_id = ms.item_id
LEFT JOIN fct_rectification_item g ON g.item_id = i.parent_item_id
LEFT JOIN dim_document d ON d.document_id = ms.document_id
LEFT JOIN dim_section sec ON sec.section_id = i.section_id
LEFT JOIN figs f ON f.measure_id = ms.measure_id;

COMMENT ON VIEW v_measure IS '整改措施宽表：每条措施连同事项、类别、进展及其中的数字 / every measure with its item, category, status and the figures inside it';
COMMENT ON COLUMN v_measure.measure_id IS '措施编号 / measure id';
COMMENT ON COLUMN v_measure.document_id IS '所属文档 / the document';
COMMENT ON COLUMN v_measure.file_name IS '文件名 / file name';
COMMENT ON COLUMN v_measure.title IS '文档标题 / document title';
COMMENT ON COLUMN v_measure.publish_date IS '发布日期 / publish date';
COMMENT ON COLUMN v_measure.item_id IS '所属整改事项 / its item';
COMMENT ON COLUMN v_measure.category IS '事项类别：具体问题、举一反三、推动改革促进发展、专题报告、other / the item''s category';
COMMENT ON COLUMN v_measure.item_kind IS '事项类型：problem 或 problem_group / problem or problem_group';
COMMENT ON COLUMN v_measure.item_marker IS '事项序号 / the item''s marker';
COMMENT ON COLUMN v_measure.problem_text IS '问题表述 / the problem as stated';
COMMENT ON COLUMN v_measure.opinion_text IS '整改意见 / the 整改意见 quoted with it';
COMMENT ON COLUMN v_measure.parent_item_id IS '所属问题组 / the group the item sits under';
COMMENT ON COLUMN v_measure.group_problem_text IS '问题组的表述 / the group''s problem as stated';
COMMENT ON COLUMN v_measure.section_path IS '事项所在章节路径 / path of the item''s section';
COMMENT ON COLUMN v_measure.section_heading IS '事项所在章节标题 / heading of the item''s section';
COMMENT ON COLUMN v_measure.ordinal IS '序号：一是=1 … / ordinal: 1 for 一是 …';
COMMENT ON COLUMN v_measure.enumerated IS '是否逐条列举 / enumerated (false when the paragraph is one measure)';
COMMENT ON COLUMN v_measure.headline IS '措施要点 / headline';
COMMENT ON COLUMN v_measure.status IS '进展：已完成、基本完成、正在推进、已整改到位、持续推进，或 NULL / status as stated, or NULL';
COMMENT ON COLUMN v_measure.status_phrase IS '表述进展的原文 / the phrase stating the status';
COMMENT ON COLUMN v_measure.text IS '措施原文 / the clause';
COMMENT ON COLUMN v_measure.start_char IS '起始偏移 / start offset';
COMMENT ON COLUMN v_measure.end_char IS '结束偏移 / end offset';
COMMENT ON COLUMN v_measure.metric_count IS '抽取时计入的事实数 / facts counted inside it at extraction';
COMMENT ON COLUMN v_measure.figures IS '带有该 measure_id 的事实数 / facts that carry this measure_id';
COMMENT ON COLUMN v_measure.figure_list IS '措施中的数字及其指标，按出现顺序（；分隔） / its figures with their metric, in order, separated by ；';
COMMENT ON COLUMN v_measure.largest_money_yuan IS '措施中以元计的最大一笔金额（不同金额所指不同，不相加） / its largest money figure in 元 (its figures measure different things, so they are never added)';

-- v_document: every document with what the warehouse holds about it -----------------------------
CREATE OR REPLACE VIEW v_document AS
WITH paths AS (
    SELECT document_id, count(*) AS paths, count(*) FILTER (WHERE removed_at IS NULL) AS current_paths
    FROM raw_documents GROUP BY document_id
),
sentences AS (
    SELECT document_id, count(*) AS sentences,
           count(*) FILTER (WHERE NOT coalesce(is_boilerplate, false)) AS content_sentences
    FROM stg_sentences GROUP BY document_id
),
sections AS (SELECT document_id, count(*) AS sections FROM dim_section GROUP BY document_id),
facts AS (
    SELECT document_id, count(*) AS facts,
           count(*) FILTER (WHERE kind = 'money') AS money_facts,
           max(value_canonical) FILTER (WHERE kind = 'money' AND unit_canonical = '元') AS largest_money_yuan
    FROM fct_metric GROUP BY document_id
),
items AS (
    SELECT document_id,
           count(*) FILTER (WHERE item_kind = 'problem') AS items,
           count(*) FILTER (WHERE item_kind = 'problem_group') AS item_groups
    FROM fct_rectification_item GROUP BY document_id
),
measures AS (
    SELECT document_id, count(*) AS measures,
           count(status) AS measures_with_status,
           count(*) FILTER (WHERE status IN ('已完成', '已整改到位')) AS measures_done
    FROM fct_measure GROUP BY document_id
),
orgs AS (SELECT document_id, count(DISTINCT org_id) AS organisations FROM bridge_sentence_org GROUP BY document_id),
activities AS (
    SELECT document_id, count(*) AS supervision_activities FROM fct_supervision_activity GROUP BY document_id
)
SELECT
    d.*,
    coalesce(p.current_paths, 0) > 0 AS is_current,
    coalesce(p.paths, 0) AS paths,
    coalesce(s.sentences, 0) AS sentences,
    coalesce(s.content_sentences, 0) AS content_sentences,
    coalesce(sec.sections, 0) AS sections,
    coalesce(f.facts, 0) AS facts,
    coalesce(f.money_facts, 0) AS money_facts,
    f.largest_money_yuan,
    coalesce(i.items, 0) AS items,
    coalesce(i.item_groups, 0) AS item_groups,
    coalesce(m.measures, 0) AS measures,
    coalesce(m.measures_with_status, 0) AS measures_with_status,
    coalesce(m.measures_done, 0) AS measures_done,
    coalesce(o.organisations, 0) AS organisations,
    coalesce(a.supervision_activities, 0) AS supervision_activities
FROM dim_document d
LEFT JOIN paths p ON p.document_id = d.document_id
LEFT JOIN sentences s ON s.document_id = d.document_id
LEFT JOIN sections sec ON sec.document_id = d.document_id
LEFT JOIN facts f ON f.document_id = d.document_id
LEFT JOIN items i ON i.document_id = d.document_id
LEFT JOIN measures m ON m.document_id = d.document_id
LEFT JOIN orgs o ON o.document_id = d.document_id
LEFT JOIN activities a ON a.document_id = d.document_id;

COMMENT ON VIEW v_document IS '文档概览：每个文档一行，连同句子、事实、事项、措施等计数 / every document with counts of its sentences, facts, items, measures and more';
COMMENT ON COLUMN v_document.document_id IS '文档编号（内容哈希） / document id (content hash)';
COMMENT ON COLUMN v_document.title IS '标题 / title';
COMMENT ON COLUMN v_document.publisher IS '发布机构 / publisher';
COMMENT ON COLUMN v_document.publish_date IS '发布日期 / publish date';
COMMENT ON COLUMN v_document.region_province IS '所涉省级地区 / province';
COMMENT ON COLUMN v_document.region_city IS '所涉地市 / city';
COMMENT ON COLUMN v_document.region_district IS '所涉区县 / district';
COMMENT ON COLUMN v_document.genre IS '体裁 / genre';
COMMENT ON COLUMN v_document.file_name IS '文件名 / file name';
COMMENT ON COLUMN v_document.content_sha256 IS '全文 SHA-256 / full SHA-256 of the text';
COMMENT ON COLUMN v_document.char_count IS '文本长度（字符数） / length in characters';
COMMENT ON COLUMN v_document.is_current IS '是否仍有未移除的路径 / whether a path of it is still current';
COMMENT ON COLUMN v_document.paths IS '读入过的路径数 / paths it was read from';
COMMENT ON COLUMN v_document.sentences IS '句子数 / sentences';
COMMENT ON COLUMN v_document.content_sentences IS '非网页装饰的句子数 / sentences that are not page furniture';
COMMENT ON COLUMN v_document.sections IS '章节数 / sections';
COMMENT ON COLUMN v_document.facts IS '指标事实数 / metric facts';
COMMENT ON COLUMN v_document.money_facts IS '金额类事实数 / money facts';
COMMENT ON COLUMN v_document.largest_money_yuan IS '以元计的最大一笔金额（不同金额所指不同，不相加） / the largest money figure in 元 (figures measure different things, so they are never added)';
COMMENT ON COLUMN v_document.items IS '整改问题数（item_kind = problem） / rectification problems (item_kind = problem)';
COMMENT ON COLUMN v_document.item_groups IS '问题组数 / problem groups';
COMMENT ON COLUMN v_document.measures IS '整改措施数 / measures';
COMMENT ON COLUMN v_document.measures_with_status IS '写明进展的措施数 / measures with a stated status';
COMMENT ON COLUMN v_document.measures_done IS '已完成或已整改到位的措施数 / measures stated 已完成 or 已整改到位';
COMMENT ON COLUMN v_document.organisations IS '点名的不同机构数 / distinct bodies named';
COMMENT ON COLUMN v_document.supervision_activities IS '监督活动数 / supervision activities';
