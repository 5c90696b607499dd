-- superdecode as a Redshift external function, in its three call shapes.
-- Fill in: the Lambda function name (stack output FunctionName) and the IAM role that
-- Redshift assumes to invoke it (stack output RedshiftRoleArn, or your own role with the
-- statement in output RedshiftRolePolicy).
--
-- Arguments are VARCHAR(MAX): the hex text that to_hex() makes of the stream's VARBYTE.
-- VARCHAR(MAX) holds 65,535 characters, so a record must be at most 32,767 bytes to be
-- passed as hex. The result is JSON text (at most 65,535 bytes) for JSON_PARSE.
--
-- Volatility: IMMUTABLE, as the Redshift streaming-ingestion blog recommends. It tells
-- Redshift that the same bytes always decode to the same JSON, so a materialized view over
-- the function can be refreshed incrementally and rows already materialized are never
-- sent to Lambda again. superdecode keeps that promise: a registry outage fails the batch
-- (the refresh retries) instead of returning something different. If your Redshift
-- version rejects IMMUTABLE for external functions (the current reference lists VOLATILE
-- and STABLE), use STABLE.
--
-- Batch limits: Lambda's request and response are each at most 6 MB. Hex doubles the
-- record size and JSON is usually 1-3x the binary size, so MAX_BATCH_SIZE 2 MB keeps
-- responses well under 6 MB for typical records. If your records decode to much larger
-- JSON (zlib-compressed Glue records can inflate a lot), lower it; MAX_BATCH_ROWS 90
-- bounds a response under 6 MB whatever the records, since each result is at most 65,535
-- bytes. Should a batch still be too large, superdecode never sends an oversized response
-- (Lambda would reject it and the view would stall): the rows that do not fit come back
-- as response_too_large dead letters, which the VOLATILE twin below repairs.

-- (hex): the payload carries its schema ID (Glue header, Confluent framing or Avro
-- single-object encoding), detected automatically.
CREATE OR REPLACE EXTERNAL FUNCTION f_superdecode(VARCHAR(MAX))
RETURNS VARCHAR(MAX)
IMMUTABLE
LAMBDA 'superdecode-DecoderFunction-EXAMPLE'
IAM_ROLE 'arn:aws:iam::123456789012:role/superdecode-RedshiftInvokeRole-EXAMPLE'
MAX_BATCH_SIZE 2 MB;

-- (stream, hex): raw payloads of a stream whose schema is assumed: by default the Glue
-- schema named like the stream, latest version, in the function's default registry
-- (per-stream overrides: SUPERDECODE_STREAMS).
CREATE OR REPLACE EXTERNAL FUNCTION f_superdecode(VARCHAR(MAX), VARCHAR(MAX))
RETURNS VARCHAR(MAX)
IMMUTABLE
LAMBDA 'superdecode-DecoderFunction-EXAMPLE'
IAM_ROLE 'arn:aws:iam::123456789012:role/superdecode-RedshiftInvokeRole-EXAMPLE'
MAX_BATCH_SIZE 2 MB;

-- (registry, schema, hex): a drop-in replacement for the AWS sample
-- f_glue_schema_registry_avro_to_json: raw payloads, latest version.
CREATE OR REPLACE EXTERNAL FUNCTION f_glue_schema_registry_avro_to_json(VARCHAR(MAX), VARCHAR(MAX), VARCHAR(MAX))
RETURNS VARCHAR(MAX)
IMMUTABLE
LAMBDA 'superdecode-DecoderFunction-EXAMPLE'
IAM_ROLE 'arn:aws:iam::123456789012:role/superdecode-RedshiftInvokeRole-EXAMPLE'
MAX_BATCH_SIZE 2 MB;

-- The base64 twins: the same Lambda, called with FROM_VARBYTE(data, 'base64') instead of
-- to_hex(data). Base64 grows a record by 4/3 instead of 2, so a VARCHAR(MAX) argument
-- carries records up to 49,151 bytes (hex: 32,767), and a 6 MB request half again as many
-- rows. superdecode reads base64 for every function whose name ends in _b64 (hex and
-- base64 cannot be told apart from the text: 'abcd' is both), so keep that suffix.
CREATE OR REPLACE EXTERNAL FUNCTION f_superdecode_b64(VARCHAR(MAX))
RETURNS VARCHAR(MAX)
IMMUTABLE
LAMBDA 'superdecode-DecoderFunction-EXAMPLE'
IAM_ROLE 'arn:aws:iam::123456789012:role/superdecode-RedshiftInvokeRole-EXAMPLE'
MAX_BATCH_SIZE 2 MB;

CREATE OR REPLACE EXTERNAL FUNCTION f_superdecode_b64(VARCHAR(MAX), VARCHAR(MAX))
RETURNS VARCHAR(MAX)
IMMUTABLE
LAMBDA 'superdecode-DecoderFunction-EXAMPLE'
IAM_ROLE 'arn:aws:iam::123456789012:role/superdecode-RedshiftInvokeRole-EXAMPLE'
MAX_BATCH_SIZE 2 MB;

-- A quick check before any stream is involved. Register the example schema first
-- (docs/deploy.md: aws glue create-schema ... --schema-name clickstream with
-- schemas/default-registry/clickstream/2.avsc); this is a raw record of it from
-- samples/redshift-event.json. For your own schema, craft a payload with
-- `superdecode encode`.
SELECT JSON_PARSE(f_superdecode('clickstream', '4830303030303030302d303030302d303030302d303030302d30303030356131653030303000babafffac06802d0410c732d303030303868747470733a2f2f73686f702e6578616d706c652e636f6d2f702f300006694f530c5361666172698c06980d0000')) AS decoded;

-- The VOLATILE twin: the same Lambda, for repairs only. A materialized view never calls an
-- IMMUTABLE function again for a row it has stored, so a dead letter whose cause has passed
-- (response_too_large: the batch was too large; schema_not_found: the schema was
-- registered late) is decoded again through this function, in small batches, by the
-- repair query in 05_dead_letters.sql. Never use it in a materialized view.
CREATE OR REPLACE EXTERNAL FUNCTION f_superdecode_volatile(VARCHAR(MAX))
RETURNS VARCHAR(MAX)
VOLATILE
LAMBDA 'superdecode-DecoderFunction-EXAMPLE'
IAM_ROLE 'arn:aws:iam::123456789012:role/superdecode-RedshiftInvokeRole-EXAMPLE'
MAX_BATCH_ROWS 50;

CREATE OR REPLACE EXTERNAL FUNCTION f_superdecode_volatile(VARCHAR(MAX), VARCHAR(MAX))
RETURNS VARCHAR(MAX)
VOLATILE
LAMBDA 'superdecode-DecoderFunction-EXAMPLE'
IAM_ROLE 'arn:aws:iam::123456789012:role/superdecode-RedshiftInvokeRole-EXAMPLE'
MAX_BATCH_ROWS 50;
