-- Streaming ingestion from Amazon MSK (Kafka), decoded into a SUPER column.
-- Fill in: the IAM role and the MSK cluster ARN.

CREATE EXTERNAL SCHEMA msk_schema
FROM MSK
IAM_ROLE 'arn:aws:iam::123456789012:role/redshift-streaming-role'
AUTHENTICATION iam
CLUSTER_ARN 'arn:aws:kafka:eu-west-1:123456789012:cluster/events/00000000-0000-0000-0000-000000000000-1';

-- Confluent-framed (or Glue-framed) values: the (hex) call shape.
CREATE MATERIALIZED VIEW payments_mv
AUTO REFRESH YES
AS
SELECT
    kafka_partition,
    kafka_offset,
    kafka_timestamp,
    kafka_key,
    kafka_value,
    JSON_PARSE(f_superdecode(to_hex(kafka_value))) AS payload
FROM msk_schema."payments";

-- Raw values with an assumed schema: the (stream, hex) call shape, here naming the
-- topic's schema explicitly.
CREATE MATERIALIZED VIEW orders_msk_mv
AUTO REFRESH YES
AS
SELECT
    kafka_partition,
    kafka_offset,
    kafka_timestamp,
    kafka_value,
    JSON_PARSE(f_superdecode('orders', to_hex(kafka_value))) AS payload
FROM msk_schema."orders";

-- Keys and values of one topic, from a Confluent-compatible registry
-- (SUPERDECODE_CONFLUENT_URL set). The stream name follows Confluent's default subject
-- naming: 'orders' reads subject orders-value, and a name ending in -key or -value is the
-- subject itself. Both are Confluent-framed, so the frame's ID picks each record's schema
-- version; the subject matters for a reader version (SUPERDECODE_READER=latest). A NULL
-- key (a record produced without one) gives NULL.
CREATE MATERIALIZED VIEW orders_keyed_mv
AUTO REFRESH YES
AS
SELECT
    kafka_partition,
    kafka_offset,
    kafka_timestamp,
    JSON_PARSE(f_superdecode('orders-key', to_hex(kafka_key))) AS order_key,
    JSON_PARSE(f_superdecode('orders', to_hex(kafka_value))) AS payload
FROM msk_schema."orders";

REFRESH MATERIALIZED VIEW payments_mv;

-- One order's key and value side by side.
SELECT order_key.order_id, order_key.region, payload.status, payload.total
FROM orders_keyed_mv
WHERE order_key.region = 'eu-west-1'
LIMIT 10;
