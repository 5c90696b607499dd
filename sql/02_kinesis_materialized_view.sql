-- Streaming ingestion from Kinesis Data Streams, decoded into a SUPER column.
-- Fill in: the IAM role Redshift uses to read the stream, and the stream name.

CREATE EXTERNAL SCHEMA kinesis_schema
FROM KINESIS
IAM_ROLE 'arn:aws:iam::123456789012:role/redshift-streaming-role';

-- Raw Avro/Protobuf records whose schema is the Glue schema named "clickstream":
-- the (stream, hex) call shape. Keep the raw bytes beside the decoded payload: a record
-- that failed to decode can then be replayed from the dead-letter view.
CREATE MATERIALIZED VIEW clickstream_mv
AUTO REFRESH YES
AS
SELECT
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    kinesis_data,
    JSON_PARSE(f_superdecode('clickstream', to_hex(kinesis_data))) AS payload
FROM kinesis_schema."clickstream";

-- Records framed with a Glue Schema Registry header (Glue serializers, Kinesis Producer
-- Library with the Glue integration): the (hex) call shape, no stream name needed.
CREATE MATERIALIZED VIEW orders_glue_mv
AUTO REFRESH YES
AS
SELECT
    approximate_arrival_timestamp,
    sequence_number,
    kinesis_data,
    JSON_PARSE(f_superdecode(to_hex(kinesis_data))) AS payload
FROM kinesis_schema."orders";

-- The same records passed as base64 (f_superdecode_b64 in 01_external_functions.sql):
-- records up to 49,151 bytes fit the argument, and each Lambda call carries more rows.
CREATE MATERIALIZED VIEW orders_glue_b64_mv
AUTO REFRESH YES
AS
SELECT
    approximate_arrival_timestamp,
    sequence_number,
    kinesis_data,
    JSON_PARSE(f_superdecode_b64(FROM_VARBYTE(kinesis_data, 'base64'))) AS payload
FROM kinesis_schema."orders";

REFRESH MATERIALIZED VIEW clickstream_mv;
