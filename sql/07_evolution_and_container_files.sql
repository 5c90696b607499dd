-- Schema evolution and self-describing payloads.

-- 1. One shape per view while producers move from version to version.
-- With the Lambda configured as
--   SUPERDECODE_STREAMS={"orders": {"framing": "glue", "reader": "latest"}}
-- every record is resolved from its writer version to the newest version of its schema:
-- fields a producer's older version lacks take their defaults, renamed fields (aliases)
-- keep one name, dropped fields disappear. The view's SQL does not change.
CREATE MATERIALIZED VIEW orders_latest_mv
AUTO REFRESH YES
AS
SELECT
    approximate_arrival_timestamp,
    sequence_number,
    kinesis_data,
    JSON_PARSE(f_superdecode('orders', to_hex(kinesis_data))) AS payload
FROM kinesis_schema."orders";

-- Rows whose writer version does not resolve to the reader (a new reader field without a
-- default, a type that does not promote) are dead letters with their own code.
SELECT sequence_number, payload._decode_error.message::VARCHAR AS why
FROM orders_latest_mv
WHERE payload._decode_error.code::VARCHAR = 'schema_incompatible';

-- 2. Avro object container files: each Kinesis record is a whole file (its schema in its
-- header, several records in its blocks). The (hex) call shape detects it; the result is
-- a JSON array of the file's records. A stream with "framing": "ocf" and a "reader" reads
-- them in that schema version's shape instead.
CREATE MATERIALIZED VIEW order_files_mv
AUTO REFRESH YES
AS
SELECT
    approximate_arrival_timestamp,
    sequence_number,
    kinesis_data,
    JSON_PARSE(f_superdecode(to_hex(kinesis_data))) AS records
FROM kinesis_schema."order-files";

-- One row per record of each file: UNNEST the array (PartiQL navigation).
SELECT
    f.sequence_number,
    r.order_id::VARCHAR  AS order_id,
    r.status::VARCHAR    AS status
FROM order_files_mv AS f, f.records AS r
WHERE f.records._decode_error IS NULL;
