-- What every table and column means, in Chinese and English, stored in the warehouse itself so that
-- an analyst sees it in any client (duckdb_tables(), duckdb_columns(), `.schema` of `taizhang sql`,
-- harlequin's catalog). COMMENT ON is idempotent: this file runs after 001-005 on every load.
-- A column added to the schema needs its comment here too (tests/test_views.py checks).
-- The views of 007_views.sql are commented there, after they are (re)created.

-- raw_documents ------------------------------------------------------------------------------------
COMMENT ON TABLE raw_documents IS '原始文件：每个读入的文件路径一行，含解码后的全文 / raw documents: one row per ingested file path, with its decoded text';
COMMENT ON COLUMN raw_documents.document_id IS '文档编号：解码文本 SHA-256 的前 16 位十六进制 / document id: first 16 hex digits of the SHA-256 of the decoded text';
COMMENT ON COLUMN raw_documents.content_sha256 IS '解码文本（UTF-8）的完整 SHA-256 / full SHA-256 of the decoded text (UTF-8)';
COMMENT ON COLUMN raw_documents.source_path IS '读取文件的绝对路径 / absolute path the file was read from';
COMMENT ON COLUMN raw_documents.file_name IS '文件名 / file name';
COMMENT ON COLUMN raw_documents.size_bytes IS '文件大小（字节） / size of the file in bytes';
COMMENT ON COLUMN raw_documents.encoding IS '解码所用编码（utf-8、gb18030 等；+html 表示从网页提取） / encoding it was decoded with (utf-8, gb18030, …; +html when extracted from HTML)';
COMMENT ON COLUMN raw_documents.ingested_at IS '读入时间（UTC） / when it was read (UTC)';
COMMENT ON COLUMN raw_documents.text IS '解码后的全文，所有字符偏移均以此为准 / the decoded text; every character offset refers to it';
COMMENT ON COLUMN raw_documents.script IS '字形：simplified 简体、traditional 繁体、none 无汉字 / script: simplified, traditional, or none (no Chinese characters)';
COMMENT ON COLUMN raw_documents.removed_at IS '后续运行不再找到该文件的时间；NULL 表示仍然有效 / when a later run no longer found the file; NULL means current';
COMMENT ON COLUMN raw_documents.removed_reason IS '文件被标记为移除的原因 / why the file was marked removed';

-- stg_documents ------------------------------------------------------------------------------------
COMMENT ON TABLE stg_documents IS '文档暂存：每个文档一行，文本自述的标题、发布机构与日期 / staged documents: one row per document, what the text says about itself';
COMMENT ON COLUMN stg_documents.document_id IS '文档编号（内容哈希） / document id (content hash)';
COMMENT ON COLUMN stg_documents.file_name IS '首个路径的文件名 / file name of its first path';
COMMENT ON COLUMN stg_documents.title IS '标题：首个非页面装饰的标题行 / title: the first header line that is not page furniture';
COMMENT ON COLUMN stg_documents.publisher IS '发布机构：来源、发布机构或落款 / publisher: from 来源, 发布机构 or the signature';
COMMENT ON COLUMN stg_documents.publish_date IS '发布日期：页头日期或落款日期 / publish date: from the header or the dated signature';
COMMENT ON COLUMN stg_documents.char_count IS '文本长度（字符数） / length of the text in characters';

-- stg_sentences ------------------------------------------------------------------------------------
COMMENT ON TABLE stg_sentences IS '句子：每句一行，含偏移、段落与所在章节 / sentences: one row per sentence, with offsets, paragraph and section';
COMMENT ON COLUMN stg_sentences.sentence_id IS '句子编号：document_id:序号 / sentence id: document_id:sequence number';
COMMENT ON COLUMN stg_sentences.document_id IS '所属文档 / the document';
COMMENT ON COLUMN stg_sentences.paragraph_index IS '段落序号（从 0 起，换行即新段） / paragraph, counted from 0 (a line break starts one)';
COMMENT ON COLUMN stg_sentences.sentence_index IS '段内句序号 / sentence number within its paragraph';
COMMENT ON COLUMN stg_sentences.start_char IS '起始字符偏移（码点） / start offset in code points';
COMMENT ON COLUMN stg_sentences.end_char IS '结束字符偏移（不含） / end offset in code points (exclusive)';
COMMENT ON COLUMN stg_sentences.text IS '句子文本 / the sentence';
COMMENT ON COLUMN stg_sentences.is_boilerplate IS '是否为网页装饰（栏目、当前位置、扫一扫等），不产生事实 / web-page furniture (banners, breadcrumbs, QR codes…): no fact comes from it';
COMMENT ON COLUMN stg_sentences.boilerplate_reason IS '判为装饰的原因（site_banner、breadcrumb 等） / why it is furniture (site_banner, breadcrumb, …)';
COMMENT ON COLUMN stg_sentences.section_id IS '所在章节（dim_section） / the section it sits in (dim_section)';
COMMENT ON COLUMN stg_sentences.section_path IS '所在章节路径，如 二/（三）/2 / path of its section, e.g. 二/（三）/2';

-- dim_unit -----------------------------------------------------------------------------------------
COMMENT ON TABLE dim_unit IS '计量单位词典（seeds/units.csv） / unit dictionary (seeds/units.csv)';
COMMENT ON COLUMN dim_unit.written IS '文中写法 / the unit as it appears in text';
COMMENT ON COLUMN dim_unit.unit IS '标注规范中的单位（元人民币 → 元） / the unit as the annotation guide writes it (元人民币 → 元)';
COMMENT ON COLUMN dim_unit.canonical IS '跨单位比较用的规范单位（亩 → 平方米） / canonical unit for comparisons (亩 → 平方米)';
COMMENT ON COLUMN dim_unit.kind IS '量的类别：count、money、percent、area 等 / kind of quantity: count, money, percent, area, …';
COMMENT ON COLUMN dim_unit.factor IS '换算系数：value_canonical = number × factor / conversion factor: value_canonical = number × factor';

-- fct_metric ---------------------------------------------------------------------------------------
COMMENT ON TABLE fct_metric IS '指标事实：每个数量提及一行 / metric fact: one row per quantity mention';
COMMENT ON COLUMN fct_metric.metric_id IS '事实编号：document_id:起-止 / fact id: document_id:start_char-end_char';
COMMENT ON COLUMN fct_metric.document_id IS '所属文档 / the document';
COMMENT ON COLUMN fct_metric.sentence_id IS '所在句子 / the sentence it is in';
COMMENT ON COLUMN fct_metric.doc IS '文件名（标注规范的 doc） / file name (the guide''s doc)';
COMMENT ON COLUMN fct_metric.start_char IS '起始偏移（码点，标注规范的 start） / start offset in code points (the guide''s start)';
COMMENT ON COLUMN fct_metric.end_char IS '结束偏移（不含，标注规范的 end） / end offset, exclusive (the guide''s end)';
COMMENT ON COLUMN fct_metric.text IS '原文写法，含倍数与余/多（800余个） / the figure as written, with multiplier and 余/多 (800余个)';
COMMENT ON COLUMN fct_metric.number IS '数值（已乘倍数：1975亿元 → 197500000000） / the value with the multiplier applied (1975亿元 → 197500000000)';
COMMENT ON COLUMN fct_metric.unit IS '单位（不含倍数） / the unit as written, without the multiplier';
COMMENT ON COLUMN fct_metric.kind IS '量的类别：count、money、percent、area 等 / kind: count, money, percent, area, …';
COMMENT ON COLUMN fct_metric.approx IS '约数：about 约、more_than 超过、at_least 不少于、less_than 不到，或 NULL / approximation: about, more_than, at_least, less_than, or NULL';
COMMENT ON COLUMN fct_metric.change IS '变化方向：increase 增长、decrease 下降，或 NULL / change: increase or decrease when a change verb governs it, else NULL';
COMMENT ON COLUMN fct_metric.metric IS '所计量的事物（句中最短名词短语） / what is measured: the shortest noun phrase, verbatim';
COMMENT ON COLUMN fct_metric.borderline IS '抽取器自身不确定是否为计量（如以年计的时长） / the extractor is unsure it is a measurement (durations in 年)';
COMMENT ON COLUMN fct_metric.unit_canonical IS '规范单位（dim_unit.canonical） / canonical unit (dim_unit.canonical)';
COMMENT ON COLUMN fct_metric.value_canonical IS '规范单位下的数值：number × factor / value in the canonical unit: number × factor';
COMMENT ON COLUMN fct_metric.as_of IS '数值所指日期：截至…、所述期间末，或文档发布日期 / the date the figure holds on: 截至…, end of the period, or the publish date';
COMMENT ON COLUMN fct_metric.period IS '句中所述期间（2021年1-10月） / the period as written (2021年1-10月)';
COMMENT ON COLUMN fct_metric.as_of_source IS 'as_of 的来源：sentence、period、document 或 none / where as_of came from: sentence, period, document or none';
COMMENT ON COLUMN fct_metric.section_id IS '所在章节（dim_section） / the section it sits in (dim_section)';
COMMENT ON COLUMN fct_metric.section_path IS '所在章节路径 / path of its section';
COMMENT ON COLUMN fct_metric.measure_id IS '所在整改措施（fct_measure），如有 / the measure it sits in (fct_measure), if any';

-- etl_run ------------------------------------------------------------------------------------------
COMMENT ON TABLE etl_run IS '运行记录：每次流程运行一行 / run log: one row per flow run';
COMMENT ON COLUMN etl_run.run_id IS '运行编号 / run id';
COMMENT ON COLUMN etl_run.started_at IS '开始时间 / when it started';
COMMENT ON COLUMN etl_run.finished_at IS '结束时间 / when it finished';
COMMENT ON COLUMN etl_run.input_dir IS '读取的输入目录 / the input folder it read';
COMMENT ON COLUMN etl_run.documents IS '读取的文档数 / documents read';
COMMENT ON COLUMN etl_run.sentences IS '句子数 / sentences';
COMMENT ON COLUMN etl_run.facts IS '指标事实数 / metric facts';
COMMENT ON COLUMN etl_run.checks_passed IS '通过的数据质量检查数 / data-quality checks passed';
COMMENT ON COLUMN etl_run.checks_failed IS '未通过的数据质量检查数 / data-quality checks failed';

-- dq_result ----------------------------------------------------------------------------------------
COMMENT ON TABLE dq_result IS '数据质量结果：每次运行每条期望一行 / data-quality results: one row per expectation per run';
COMMENT ON COLUMN dq_result.run_id IS '运行编号（etl_run） / the run (etl_run)';
COMMENT ON COLUMN dq_result.table_name IS '被检查的表 / the table checked';
COMMENT ON COLUMN dq_result.expectation IS '期望（Great Expectations 规则） / the expectation (a Great Expectations rule)';
COMMENT ON COLUMN dq_result.severity IS '严重度：critical 阻止加载，warning 仅报告 / severity: critical stops the load, warning is reported';
COMMENT ON COLUMN dq_result.success IS '是否通过 / whether it passed';
COMMENT ON COLUMN dq_result.observed_value IS '观测值 / the observed value';
COMMENT ON COLUMN dq_result.unexpected_count IS '不符合期望的行数 / rows that did not meet it';
COMMENT ON COLUMN dq_result.sample IS '不符合期望的样例 / a sample of those rows';

-- quarantine ---------------------------------------------------------------------------------------
COMMENT ON TABLE quarantine IS '隔离区：每个无法处理的文件一行 / quarantine: one row per file that could not be processed';
COMMENT ON COLUMN quarantine.source_path IS '文件路径 / the file''s path';
COMMENT ON COLUMN quarantine.reason IS '原因（白话） / the reason, in plain words';
COMMENT ON COLUMN quarantine.size_bytes IS '文件大小（字节） / size in bytes';
COMMENT ON COLUMN quarantine.first_bytes_hex IS '文件开头字节（十六进制） / the first bytes, in hex';
COMMENT ON COLUMN quarantine.quarantined_at IS '隔离时间 / when it was quarantined';
COMMENT ON COLUMN quarantine.run_id IS '隔离该文件的运行（etl_run.run_id） / the run that quarantined it (etl_run.run_id)';

-- document_version ---------------------------------------------------------------------------------
COMMENT ON TABLE document_version IS '文档历史版本：被替换或全量刷新丢弃的 raw_documents 行 / earlier document versions: raw_documents rows replaced or dropped by a full refresh';
COMMENT ON COLUMN document_version.document_id IS '该版本的文档编号 / document id of this version';
COMMENT ON COLUMN document_version.content_sha256 IS '该版本文本的 SHA-256 / SHA-256 of this version''s text';
COMMENT ON COLUMN document_version.source_path IS '文件路径 / the file''s path';
COMMENT ON COLUMN document_version.file_name IS '文件名 / file name';
COMMENT ON COLUMN document_version.size_bytes IS '文件大小（字节） / size in bytes';
COMMENT ON COLUMN document_version.encoding IS '解码所用编码 / encoding it was decoded with';
COMMENT ON COLUMN document_version.script IS '字形：simplified、traditional 或 none / script: simplified, traditional or none';
COMMENT ON COLUMN document_version.ingested_at IS '该版本的读入时间 / when this version was read';
COMMENT ON COLUMN document_version.removed_at IS '该版本曾被标记移除的时间 / when it had been marked removed, if it had';
COMMENT ON COLUMN document_version.removed_reason IS '移除原因 / why it had been removed';
COMMENT ON COLUMN document_version.text IS '该版本的全文 / the text of this version';
COMMENT ON COLUMN document_version.superseded_at IS '被取代的时间（取代它的运行读入输入之时） / when the run that replaced or dropped it read its input';
COMMENT ON COLUMN document_version.superseded_by IS '同一路径上的新文档编号；NULL 表示被丢弃 / document_id now at the same path; NULL when dropped';
COMMENT ON COLUMN document_version.reason IS '原因：内容变化，或全量刷新丢弃 / why: changed, or dropped by a full refresh';

-- dim_document -------------------------------------------------------------------------------------
COMMENT ON TABLE dim_document IS '文档维度：每个文档一行，标题、发布机构、日期、地区与体裁 / document dimension: one row per document, title, publisher, date, region and genre';
COMMENT ON COLUMN dim_document.document_id IS '文档编号（内容哈希） / document id (content hash)';
COMMENT ON COLUMN dim_document.title IS '标题 / title';
COMMENT ON COLUMN dim_document.publisher IS '发布机构 / publisher';
COMMENT ON COLUMN dim_document.publish_date IS '发布日期 / publish date';
COMMENT ON COLUMN dim_document.region_province IS '所涉省级地区（天津市、河北省） / province the report is about (天津市, 河北省)';
COMMENT ON COLUMN dim_document.region_city IS '所涉地市（直辖市即其本身） / city it is about (a province-level city is its own city)';
COMMENT ON COLUMN dim_document.region_district IS '所涉区县（滨海新区） / district it is about (滨海新区)';
COMMENT ON COLUMN dim_document.genre IS '体裁：rectification_report 整改通报、discipline_feature 纪检监察稿件、other / genre: rectification_report, discipline_feature or other';
COMMENT ON COLUMN dim_document.file_name IS '文件名 / file name';
COMMENT ON COLUMN dim_document.content_sha256 IS '全文 SHA-256 / full SHA-256 of the text';
COMMENT ON COLUMN dim_document.char_count IS '文本长度（字符数） / length in characters';

-- dim_section --------------------------------------------------------------------------------------
COMMENT ON TABLE dim_section IS '章节：每个标题一行，构成 第X部分 → 一、 → （一） → 1. 的树 / sections: one row per heading, the tree 第X部分 → 一、 → （一） → 1.';
COMMENT ON COLUMN dim_section.section_id IS '章节编号 / section id';
COMMENT ON COLUMN dim_section.document_id IS '所属文档 / the document';
COMMENT ON COLUMN dim_section.parent_section_id IS '上级章节 / the parent section';
COMMENT ON COLUMN dim_section.path IS '自顶层起的序号路径，如 二/（三）/2 / its markers from the top, e.g. 二/（三）/2';
COMMENT ON COLUMN dim_section.marker IS '原文序号（一、 （一） 1.） / the marker as written';
COMMENT ON COLUMN dim_section.kind IS '序号类型（cn_dun、cn_paren、num_dot、bracket 等） / kind of marker (cn_dun, cn_paren, num_dot, bracket, …)';
COMMENT ON COLUMN dim_section.level IS '层级（一、=1，（一）=2，1.=3 …） / depth (一、 = 1, （一） = 2, 1. = 3 …)';
COMMENT ON COLUMN dim_section.heading_text IS '标题文本 / the heading';
COMMENT ON COLUMN dim_section.heading_start_char IS '标题起始偏移 / heading start offset';
COMMENT ON COLUMN dim_section.heading_end_char IS '标题结束偏移 / heading end offset';
COMMENT ON COLUMN dim_section.start_char IS '章节起点（其标题） / section start (its heading)';
COMMENT ON COLUMN dim_section.end_char IS '章节终点（下一个同级或更高级标题） / section end (the next heading of the same or a higher level)';

-- fct_rectification_item ---------------------------------------------------------------------------
COMMENT ON TABLE fct_rectification_item IS '整改事项：每个整改问题一行 / rectification items: one row per problem addressed';
COMMENT ON COLUMN fct_rectification_item.item_id IS '事项编号 / item id';
COMMENT ON COLUMN fct_rectification_item.document_id IS '所属文档 / the document';
COMMENT ON COLUMN fct_rectification_item.section_id IS '所在章节 / the section it sits in';
COMMENT ON COLUMN fct_rectification_item.section_path IS '所在章节路径 / path of its section';
COMMENT ON COLUMN fct_rectification_item.parent_item_id IS '所属问题组（（一）关于…问题） / the group heading it sits under';
COMMENT ON COLUMN fct_rectification_item.item_kind IS '类型：problem 问题，problem_group 问题组 / problem, or problem_group for a heading with problems under it';
COMMENT ON COLUMN fct_rectification_item.category IS '类别：具体问题、举一反三、推动改革促进发展、专题报告、other / category: 具体问题, 举一反三, 推动改革促进发展, 专题报告, other';
COMMENT ON COLUMN fct_rectification_item.lead_form IS '引出方式（guanyu_quoted 关于“…”问题、zhendui_wenti 针对…问题 等） / which lead introduced it (guanyu_quoted, zhendui_wenti, juyi_fansan, …)';
COMMENT ON COLUMN fct_rectification_item.marker IS '原文序号 / its marker as written';
COMMENT ON COLUMN fct_rectification_item.problem_text IS '问题表述 / the problem as stated';
COMMENT ON COLUMN fct_rectification_item.problem_start_char IS '问题表述起始偏移 / start offset of the problem';
COMMENT ON COLUMN fct_rectification_item.problem_end_char IS '问题表述结束偏移 / end offset of the problem';
COMMENT ON COLUMN fct_rectification_item.opinion_text IS '一并引用的整改意见 / the 整改意见 quoted with it, if any';
COMMENT ON COLUMN fct_rectification_item.start_char IS '引语起始偏移 / start offset of the lead';
COMMENT ON COLUMN fct_rectification_item.end_char IS '引语结束偏移 / end offset of the lead';
COMMENT ON COLUMN fct_rectification_item.text IS '引语（标题或引导句） / the lead itself (heading or lead sentence)';
COMMENT ON COLUMN fct_rectification_item.scope_end_char IS '该事项措施的结束偏移（下一事项或章节） / where the item''s measures end (the next item or section)';

-- fct_measure --------------------------------------------------------------------------------------
COMMENT ON TABLE fct_measure IS '整改措施：每个事项的每条措施一行（一是…二是…） / measures: one row per measure taken for an item (一是…二是…)';
COMMENT ON COLUMN fct_measure.measure_id IS '措施编号 / measure id';
COMMENT ON COLUMN fct_measure.item_id IS '所属整改事项 / its item';
COMMENT ON COLUMN fct_measure.document_id IS '所属文档 / the document';
COMMENT ON COLUMN fct_measure.ordinal IS '序号：一是=1，二是=2 … / ordinal: 1 for 一是, 2 for 二是 …';
COMMENT ON COLUMN fct_measure.enumerated IS '是否逐条列举；false 表示整段为一条措施 / enumerated; false when the whole paragraph is one measure';
COMMENT ON COLUMN fct_measure.headline IS '要点：首个句号或逗号前的短语 / headline: the phrase before the first 。 or ，';
COMMENT ON COLUMN fct_measure.text IS '措施原文 / the clause';
COMMENT ON COLUMN fct_measure.start_char IS '起始偏移 / start offset';
COMMENT ON COLUMN fct_measure.end_char IS '结束偏移 / end offset';
COMMENT ON COLUMN fct_measure.status IS '进展：已完成、基本完成、正在推进、已整改到位、持续推进，或 NULL（未说明） / status as stated: 已完成, 基本完成, 正在推进, 已整改到位, 持续推进, or NULL';
COMMENT ON COLUMN fct_measure.status_phrase IS '表述进展的原文 / the phrase stating the status';
COMMENT ON COLUMN fct_measure.metric_count IS '措施内的指标事实数 / metric facts inside the measure';

-- dim_org_unit -------------------------------------------------------------------------------------
COMMENT ON TABLE dim_org_unit IS '机构：每个规范化机构名一行，跨文档合并 / organisations: one row per normalised name, across documents';
COMMENT ON COLUMN dim_org_unit.org_id IS '机构编号：规范名 SHA-256 前 16 位 / org id: first 16 hex digits of the SHA-256 of the normalised name';
COMMENT ON COLUMN dim_org_unit.name IS '规范化名称 / the normalised name';
COMMENT ON COLUMN dim_org_unit.type IS '类型：纪委监委、派驻纪检监察组、党委、党委部门、政府部门、国企、企业、学校、医院、other / type of body';
COMMENT ON COLUMN dim_org_unit.level IS '层级：省、市、区县、乡镇街道、other / level: province, city, district, township or other';
COMMENT ON COLUMN dim_org_unit.parent_org_id IS '上级机构（如派驻组所属纪委监委） / the body it belongs to';
COMMENT ON COLUMN dim_org_unit.mention_count IS '被提及次数 / how often it is named';
COMMENT ON COLUMN dim_org_unit.document_count IS '提及它的文档数 / in how many documents';

-- bridge_sentence_org ------------------------------------------------------------------------------
COMMENT ON TABLE bridge_sentence_org IS '句子—机构桥表：每次机构提及一行 / sentence-organisation bridge: one row per mention of a body in a sentence';
COMMENT ON COLUMN bridge_sentence_org.sentence_id IS '句子 / the sentence';
COMMENT ON COLUMN bridge_sentence_org.document_id IS '文档 / the document';
COMMENT ON COLUMN bridge_sentence_org.org_id IS '机构（dim_org_unit） / the body (dim_org_unit)';
COMMENT ON COLUMN bridge_sentence_org.start_char IS '提及起始偏移 / start offset of the mention';
COMMENT ON COLUMN bridge_sentence_org.end_char IS '提及结束偏移 / end offset of the mention';
COMMENT ON COLUMN bridge_sentence_org.mention_text IS '原文写法 / the mention as written';

-- fct_supervision_activity -------------------------------------------------------------------------
COMMENT ON TABLE fct_supervision_activity IS '监督活动：纪检监察稿件中谁监督了什么，每项一行 / supervision activities: who supervised what, one row each';
COMMENT ON COLUMN fct_supervision_activity.activity_id IS '活动编号 / activity id';
COMMENT ON COLUMN fct_supervision_activity.document_id IS '文档 / the document';
COMMENT ON COLUMN fct_supervision_activity.sentence_id IS '所在句子 / the sentence';
COMMENT ON COLUMN fct_supervision_activity.org_id IS '监督机构（dim_org_unit） / the supervising body (dim_org_unit)';
COMMENT ON COLUMN fct_supervision_activity.supervisor_name IS '监督机构名称 / name of the supervising body';
COMMENT ON COLUMN fct_supervision_activity.body_source IS '机构来源：sentence 句中点名，paragraph 沿用段落 / how the body was found: named in the sentence or carried from the paragraph';
COMMENT ON COLUMN fct_supervision_activity.action IS '规范化的监督方式（调研监督、监督检查、专项监督…） / the action, normalised';
COMMENT ON COLUMN fct_supervision_activity.action_text IS '监督方式原文 / the action as written';
COMMENT ON COLUMN fct_supervision_activity.action_start_char IS '监督方式起始偏移 / start offset of the action';
COMMENT ON COLUMN fct_supervision_activity.action_end_char IS '监督方式结束偏移 / end offset of the action';
COMMENT ON COLUMN fct_supervision_activity.target_text IS '监督对象（地点、项目或机构） / the place, project or body supervised';
COMMENT ON COLUMN fct_supervision_activity.target_start_char IS '监督对象起始偏移 / start offset of the target';
COMMENT ON COLUMN fct_supervision_activity.target_end_char IS '监督对象结束偏移 / end offset of the target';
COMMENT ON COLUMN fct_supervision_activity.target_org_id IS '监督对象机构（如为机构） / the target body, when it is one';
COMMENT ON COLUMN fct_supervision_activity.in_caption IS '是否出自图片说明 / stated in a photo caption';

-- Views of 003_incremental.sql (re-created there on every load, so commented after it) --------------
COMMENT ON VIEW current_documents IS '当前文档：至少有一个未移除路径的文档 / current documents: those with at least one path not removed';
COMMENT ON COLUMN current_documents.document_id IS '文档编号 / document id';
COMMENT ON VIEW document_status IS '路径状态：每个加载过的路径一行，当前或已移除，及历史版本数 / path status: one row per path ever loaded, current or removed, and its earlier versions';
COMMENT ON COLUMN document_status.source_path IS '文件路径 / the file''s path';
COMMENT ON COLUMN document_status.file_name IS '文件名 / file name';
COMMENT ON COLUMN document_status.document_id IS '该路径当前的文档编号 / document id now at the path';
COMMENT ON COLUMN document_status.status IS '状态：current 当前，removed 已移除 / current or removed';
COMMENT ON COLUMN document_status.ingested_at IS '读入时间 / when it was read';
COMMENT ON COLUMN document_status.removed_at IS '移除时间 / when it was marked removed';
COMMENT ON COLUMN document_status.removed_reason IS '移除原因 / why it was removed';
COMMENT ON COLUMN document_status.earlier_versions IS '历史版本数（document_version） / earlier versions (document_version)';
