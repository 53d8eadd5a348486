-- Reports as they arrive (issue 26): web pages, PDF and Word files are read into text, page
-- furniture is removed and numbers a PDF's layout split are joined before the text is stored, so
-- every offset refers to the stored text. These columns say what was done to each file.
-- Applied on every load; idempotent. A warehouse written before gains them, NULL for old rows.
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS file_format VARCHAR;
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS file_sha256 VARCHAR;
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS extracted_with VARCHAR;
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS furniture_lines INTEGER;
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS furniture_text VARCHAR;
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS layout_joins INTEGER;
ALTER TABLE document_version ADD COLUMN IF NOT EXISTS file_format VARCHAR;
ALTER TABLE document_version ADD COLUMN IF NOT EXISTS file_sha256 VARCHAR;
ALTER TABLE document_version ADD COLUMN IF NOT EXISTS extracted_with VARCHAR;
ALTER TABLE document_version ADD COLUMN IF NOT EXISTS furniture_lines INTEGER;
ALTER TABLE document_version ADD COLUMN IF NOT EXISTS furniture_text VARCHAR;
ALTER TABLE document_version ADD COLUMN IF NOT EXISTS layout_joins INTEGER;
COMMENT ON COLUMN raw_documents.file_format IS '原始格式：txt、html、pdf 或 docx（按文件内容判断，不按扩展名） / the file''s format as its bytes show it (not its name): txt, html, pdf or docx';
COMMENT ON COLUMN raw_documents.file_sha256 IS '原始文件字节的 SHA-256（document_id 取自提取后的文本） / SHA-256 of the original file''s bytes (document_id hashes the stored text instead)';
COMMENT ON COLUMN raw_documents.extracted_with IS '读取所用的库及版本，如 trafilatura、pdfplumber、python-docx，或解码器 / the library (and version) that turned the file into text: trafilatura, html.parser, pdfplumber, python-docx, or the text decoder';
COMMENT ON COLUMN raw_documents.furniture_lines IS '删去的网页框架行数（下载、打印、字号、分享、页脚等，见 seeds/page_furniture.csv） / how many whole lines of page furniture (download/print/font-size controls, share bars, footers; seeds/page_furniture.csv) were removed before the text was stored';
COMMENT ON COLUMN raw_documents.furniture_text IS '删去的网页框架行原文，换行分隔，便于核查 / the removed furniture lines themselves, one per line, so a reader can check nothing of the report went';
COMMENT ON COLUMN raw_documents.layout_joins IS 'PDF 版面拆开的数字被接回的次数（如“1 6 5 5 亿元”→“1655亿元”） / how many numbers split by a PDF''s layout (spaces between digits, a line break inside a number, full-width digits) were joined';
COMMENT ON COLUMN document_version.file_format IS '该版本的原始格式 / the version''s original format (see raw_documents.file_format)';
COMMENT ON COLUMN document_version.file_sha256 IS '该版本原始文件字节的 SHA-256 / SHA-256 of the version''s original bytes';
COMMENT ON COLUMN document_version.extracted_with IS '该版本读取所用的库 / the library that read the version';
COMMENT ON COLUMN document_version.furniture_lines IS '该版本删去的网页框架行数 / furniture lines removed from the version';
COMMENT ON COLUMN document_version.furniture_text IS '该版本删去的网页框架行 / the furniture lines removed from the version';
COMMENT ON COLUMN document_version.layout_joins IS '该版本接回的数字数 / numbers joined in the version';
