-- Watching the pipeline from Redshift. superdecode's own view (records, record errors by
-- code, cache hits, registry calls and latency per batch) is in CloudWatch: the function
-- logs one JSON line and one Embedded Metric Format record per batch (docs/operations.md).

-- Refreshes of the streaming views: status and duration.
SELECT mv_name, status, start_time, end_time,
       DATEDIFF(ms, start_time, end_time) AS duration_ms
FROM sys_mv_refresh_history
WHERE mv_name IN ('clickstream_mv', 'orders_glue_mv', 'payments_mv')
ORDER BY start_time DESC
LIMIT 50;

-- A refresh that fails: superdecode answered success:false (registry unreachable or
-- denied, a configured schema missing, the Lambda deadline). The message names the cause.
SELECT query_id, start_time, TRIM(error_message) AS error_message
FROM sys_query_history
WHERE status = 'failed'
  AND query_text ILIKE '%refresh materialized view%'
ORDER BY start_time DESC
LIMIT 20;

-- Records the stream itself could not load (before superdecode is called).
SELECT mv_name, stream_name, partition_id, position, record_time, error_code,
       TRIM(error_reason) AS error_reason
FROM sys_stream_scan_errors
ORDER BY record_time DESC
LIMIT 50;

-- How far each view has read into each shard or partition.
SELECT mv_name, partition_id, latest_position, scanned_rows, record_time
FROM sys_stream_scan_states
ORDER BY record_time DESC
LIMIT 50;

-- Dead-letter rate per hour (see 05_dead_letters.sql).
SELECT DATE_TRUNC('hour', approximate_arrival_timestamp) AS hour,
       COUNT(*) AS records,
       SUM(CASE WHEN payload._decode_error IS NOT NULL THEN 1 ELSE 0 END) AS dead_letters
FROM clickstream_mv
GROUP BY 1
ORDER BY 1 DESC
LIMIT 48;
