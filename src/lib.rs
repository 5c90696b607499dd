//! superdecode decodes Avro, Protobuf and JSON records — raw, or framed with a Glue
//! Schema Registry header, Confluent framing or Avro single-object encoding — into JSON
//! text for Amazon Redshift's `JSON_PARSE`. It runs as a Lambda external function and as a
//! command-line tool.
//!
//! Data flows one way, and the modules follow it:
//!
//! | step | module |
//! |---|---|
//! | Redshift event → rows (calls); rows' results → response | [`redshift`] |
//! | hex → frame: wire format, schema ID, message selector, body | [`frame`] |
//! | stream name → source, schema (or subject), version, framing, message | [`streams`] |
//! | schema ID or name → compiled decoder (registries, routing, cache) | [`schema`] |
//! | body → JSON text | [`decode`] |
//! | the batch, end to end, without AWS | [`pipeline`] |
//! | settings; the one place the parts are put together | [`config`], [`secret`] |
//! | shells: Lambda runtime, command line | [`lambda`], [`cli`] |
//! | test payloads: JSON → framed binary | [`encode`] |
//!
//! `docs/architecture.md` has the diagram, which way the imports point, and which files a
//! new data format, wire format or registry source touches.

#![warn(missing_docs)]
// No unsafe code of our own: the decoders are memory-safe by construction, which is also why
// the long fuzz campaigns may run without a sanitizer (docs/fuzzing.md). The one exception,
// `redshift::Response`'s serialization, hands serde_json text it need not parse again; it
// touches no memory itself.
#![deny(unsafe_code)]

pub mod cli;
pub mod config;
pub mod decode;
pub mod encode;
pub mod error;
pub mod frame;
pub mod json_text;
pub mod lambda;
mod logging;
mod metrics;
pub mod pipeline;
pub mod redshift;
pub mod schema;
pub mod secret;
pub mod streams;
mod varint;
