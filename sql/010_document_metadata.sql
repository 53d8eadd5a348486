-- Document metadata that generalises (issue 23): every header field of a document says where it
-- came from, as fct_metric.as_of_source does for a figure, and the genres include work and audit
-- reports. The columns are in 001 (a new warehouse) and 005 (an older one gains them before 007
-- binds v_document over dim_document.*); old rows keep NULL sources until their documents are
-- extracted again (taizhang run --full-refresh). Applied on every load, after 006 and 007 whose
-- comments it refines; idempotent.

-- stg_documents ------------------------------------------------------------------------------------
COMMENT ON COLUMN stg_documents.title IS '标题：正文前标题区中点名文种的一行（页面装饰、图片说明、署名、日期行除外），否则为文件名 / title: the line of the title block above the body that names the report (never page furniture, a photo caption, a byline or a date line), else the file name';
COMMENT ON COLUMN stg_documents.title_source IS '标题来源：title_line（标题区）、file（文件名）或 none / where the title came from: title_line, file or none';
COMMENT ON COLUMN stg_documents.publisher IS '发文机关：页头来源/发布机构（报刊、网站除外）、落款、决议的通过会议，或开篇“我代表…政府” / issuing body: the page header''s source (not a newspaper or website), the signature, the meeting that adopted a resolution, or the opening 我代表…政府';
COMMENT ON COLUMN stg_documents.publisher_source IS '发文机关来源：header、signature、title_line、body 或 none / where the publisher came from: header, signature, title_line, body or none';
COMMENT ON COLUMN stg_documents.publish_date IS '日期：标题下“——…在…会议上”或通过日期，否则落款日期，否则页头日期 / date: the delivery or adoption line under the title, else the signature, else the page header';
COMMENT ON COLUMN stg_documents.publish_date_source IS '日期来源：title_line、signature、header 或 none / where the publish date came from: title_line, signature, header or none';
COMMENT ON COLUMN stg_documents.report_year IS '年份：日期的年份，否则文件名中的年份 / year: the publish date''s, else the one the file name states';
COMMENT ON COLUMN stg_documents.report_year_source IS '年份来源：同日期来源，或 file、none / where the year came from: as the date, or file, or none';

-- dim_document -------------------------------------------------------------------------------------
COMMENT ON COLUMN dim_document.title_source IS '标题来源：title_line、file 或 none / where the title came from: title_line, file or none';
COMMENT ON COLUMN dim_document.publisher IS '发文机关 / issuing body';
COMMENT ON COLUMN dim_document.publisher_source IS '发文机关来源：header、signature、title_line、body 或 none / where the publisher came from';
COMMENT ON COLUMN dim_document.publish_date_source IS '日期来源：title_line、signature、header 或 none / where the publish date came from';
COMMENT ON COLUMN dim_document.report_year IS '年份：日期的年份，否则文件名中的年份 / year: the publish date''s, else the file name''s';
COMMENT ON COLUMN dim_document.report_year_source IS '年份来源 / where the year came from';
COMMENT ON COLUMN dim_document.region_source IS '地区来源：点名地区的标题或发文机关的来源、body（正文）、file 或 none（含全国性机关的报告） / where the region came from: the source of the title or publisher that named it, body, file, or none (also for a national body''s report)';
COMMENT ON COLUMN dim_document.genre IS '体裁：work_report 政府工作报告、audit_report 审计工作报告与审计查出问题整改、rectification_report 整改通报、discipline_feature 纪检监察稿件、other / genre: work_report, audit_report, rectification_report, discipline_feature or other';
COMMENT ON COLUMN dim_document.genre_source IS '体裁来源：计入标题规则时为标题来源，否则 body、file，other 时为 none / where the genre came from: the title''s source when a title rule counted, else body or file; none for other';

-- v_document (007) shows dim_document.* -------------------------------------------------------------
COMMENT ON COLUMN v_document.title_source IS '标题来源 / where the title came from';
COMMENT ON COLUMN v_document.publisher_source IS '发文机关来源 / where the publisher came from';
COMMENT ON COLUMN v_document.publish_date_source IS '日期来源 / where the publish date came from';
COMMENT ON COLUMN v_document.report_year IS '年份 / year';
COMMENT ON COLUMN v_document.report_year_source IS '年份来源 / where the year came from';
COMMENT ON COLUMN v_document.region_source IS '地区来源 / where the region came from';
COMMENT ON COLUMN v_document.genre IS '体裁：work_report、audit_report、rectification_report、discipline_feature、other / genre';
COMMENT ON COLUMN v_document.genre_source IS '体裁来源 / where the genre came from';
