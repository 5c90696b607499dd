-- Records that could not be decoded. With SUPERDECODE_ON_ERROR=object (the default) each
-- becomes {"_decode_error": {"code": "...", "message": "..."}} instead of blocking the
-- view. The codes are stable; README.md lists them.

CREATE OR REPLACE VIEW clickstream_dead_letters AS
SELECT
    approximate_arrival_timestamp,
    shard_id,
    sequence_number,
    payload._decode_error.code::VARCHAR    AS error_code,
    payload._decode_error.message::VARCHAR AS error_message,
    to_hex(kinesis_data)                   AS raw_hex   -- replay with `superdecode decode`
FROM clickstream_mv
WHERE payload._decode_error IS NOT NULL;

-- What fails, and how often, in the last day.
SELECT error_code, COUNT(*) AS records, MIN(approximate_arrival_timestamp) AS first_seen,
       MAX(approximate_arrival_timestamp) AS last_seen
FROM clickstream_dead_letters
WHERE approximate_arrival_timestamp > DATEADD(day, -1, GETDATE())
GROUP BY error_code
ORDER BY records DESC;

-- Only the good rows, for downstream models.
CREATE OR REPLACE VIEW clickstream_clean AS
SELECT approximate_arrival_timestamp, sequence_number, payload
FROM clickstream_mv
WHERE payload._decode_error IS NULL;
