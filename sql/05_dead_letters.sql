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

-- Repair: dead letters whose cause has passed, decoded again with the VOLATILE twin of the
-- function (01_external_functions.sql) into a side table. Which codes are worth repairing:
--   response_too_large  the batch's response would have passed Lambda's 6 MB limit; the
--                       record itself is fine, and decodes in the twin's small batches;
--   schema_not_found    the schema (version) was registered after the record arrived.
-- Other codes come from the bytes and decode the same way every time. Run it after fixing
-- the cause, as often as you like: rows already repaired are skipped, and rows that still
-- fail stay dead letters.
CREATE TABLE IF NOT EXISTS clickstream_repaired (
    shard_id                      VARCHAR(128),
    sequence_number               VARCHAR(128),
    approximate_arrival_timestamp TIMESTAMP,
    payload                       SUPER,
    repaired_at                   TIMESTAMP DEFAULT GETDATE()
);

INSERT INTO clickstream_repaired (shard_id, sequence_number, approximate_arrival_timestamp, payload)
SELECT shard_id, sequence_number, approximate_arrival_timestamp, payload
FROM (
    SELECT mv.shard_id, mv.sequence_number, mv.approximate_arrival_timestamp,
           JSON_PARSE(f_superdecode_volatile('clickstream', to_hex(mv.kinesis_data))) AS payload
    FROM clickstream_mv mv
    WHERE mv.payload._decode_error.code::VARCHAR IN ('response_too_large', 'schema_not_found')
      AND NOT EXISTS (
          SELECT 1 FROM clickstream_repaired r
          WHERE r.shard_id = mv.shard_id AND r.sequence_number = mv.sequence_number)
) redecoded
WHERE payload._decode_error IS NULL;

-- Every decoded row: the view's good rows and the repaired ones.
CREATE OR REPLACE VIEW clickstream_decoded AS
SELECT approximate_arrival_timestamp, sequence_number, payload
FROM clickstream_mv
WHERE payload._decode_error IS NULL
UNION ALL
SELECT approximate_arrival_timestamp, sequence_number, payload
FROM clickstream_repaired;
