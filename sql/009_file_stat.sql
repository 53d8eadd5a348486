-- When the file was last modified, so that a later run can tell an untouched file without reading it.
-- Applied on every load; idempotent. NULL for rows written before this column: those files are
-- read again on the next run, which fills it in.
ALTER TABLE raw_documents ADD COLUMN IF NOT EXISTS modified_ns BIGINT;
COMMENT ON COLUMN raw_documents.modified_ns IS '文件修改时间（自 1970 年起的纳秒，st_mtime_ns）；路径、大小与它都未变的文件下次运行不再读取 / the file''s modification time (ns since 1970, st_mtime_ns); a file whose path, size and this are unchanged is not read again by the next run';
