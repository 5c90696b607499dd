-- Querying the decoded SUPER column with PartiQL. Field names are the schema's field
-- names (Avro) or proto field names (Protobuf). Lower-case names work as written;
-- for mixed-case names run SET enable_case_sensitive_identifier TO true; first.

-- Navigate records and cast scalars.
SELECT
    payload.event_id::VARCHAR       AS event_id,
    payload.event_type::VARCHAR     AS event_type,
    payload.occurred_at::TIMESTAMP  AS occurred_at,   -- ISO-8601 text with Z
    payload.device.os::VARCHAR      AS os,
    payload.properties.campaign::VARCHAR AS campaign  -- an Avro map is an object
FROM clickstream_mv
WHERE payload._decode_error IS NULL
  AND payload.event_type::VARCHAR = 'ADD_TO_CART';

-- Unnest an array of records: one row per order line. Decimals are exact JSON numbers.
SELECT
    o.payload.order_id::VARCHAR      AS order_id,
    item.sku::VARCHAR                AS sku,
    item.quantity::INT               AS quantity,
    item.unit_price::DECIMAL(12, 2)  AS unit_price
FROM orders_glue_mv AS o, o.payload.items AS item
WHERE o.payload.status::VARCHAR = 'PAID';

-- Aggregate over time.
SELECT
    DATE_TRUNC('minute', payload.occurred_at::TIMESTAMP) AS minute,
    payload.event_type::VARCHAR AS event_type,
    COUNT(*) AS events
FROM clickstream_mv
WHERE payload._decode_error IS NULL
GROUP BY 1, 2
ORDER BY 1 DESC, 2;

-- Optional fields: an Avro null, or an unset Protobuf field with presence, is missing
-- or JSON null; both read as NULL.
SELECT COUNT(*) AS anonymous_events
FROM clickstream_mv
WHERE payload.user_id IS NULL AND payload._decode_error IS NULL;
