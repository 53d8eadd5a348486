-- Time that flows down the document, and actuals told from targets (issue 23): the comments.
-- Applied on every load, after 007 (whose v_metric re-creates its comments); idempotent. The column
-- itself is added in 005, before 007 builds v_metric over fct_metric.*. A warehouse written before
-- it has NULL value_type for its old rows until they are extracted again.
COMMENT ON COLUMN fct_metric.as_of_source IS 'as_of 的来源，依次：sentence（本句写明的日期或相对年份）、period（本句所述期间）、paragraph（同段前文）、section（最近的章节标题，如“一、2025年工作回顾”）、frame（文档框架：政府工作报告回顾上一年）、document（发布日期）、none / where as_of came from, in this order: sentence, period, paragraph, section, frame, document, none';
COMMENT ON COLUMN fct_metric.value_type IS '实际值（actual）或目标值（target：预期目标、力争、或日期晚于发布日期） / actual, or target (预期目标, 力争, or a date after the publish date)';
COMMENT ON COLUMN v_metric.value_type IS '实际值或目标值 / actual or target';
