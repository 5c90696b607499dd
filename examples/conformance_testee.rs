//! The testee for Google's Protobuf conformance suite (`scripts/conformance.sh`, see
//! docs/conformance.md).
//!
//! Speaks the runner's pipe protocol: on stdin, a 4-byte little-endian length and a
//! serialized `conformance.ConformanceRequest`; on stdout, a `ConformanceResponse` framed
//! the same way. `conformance.proto` and the test message protos are compiled at run time
//! (protox for the protocol, superdecode's own decoder for the test messages), from the
//! protobuf source tree named by `SUPERDECODE_CONFORMANCE_SRC`.
//!
//! Only what superdecode does is answered: every protobuf binary input is decoded by the
//! product decoder with ProtoJSON options (json_name field names, default values omitted,
//! 64-bit integers as strings, enums as names, NaN/Infinity as strings). A record error is
//! a `parse_error` (invalid binary), except that when JSON was asked for and the message
//! says "has no ProtoJSON form" (Timestamp/Duration out of range, FieldMask paths that do
//! not round-trip) it is a `serialize_error`. A successful decode answers a JSON request
//! with the JSON; other outputs (binary re-serialization, text format) are `skipped`, as is
//! every JSON or text input.

use std::io::{Read, Write};
use std::sync::atomic::AtomicU64;

use prost::Message as _;
use prost_reflect::{DynamicMessage, Value};
use superdecode::decode::protobuf::{
    EnumEncoding, FieldNames, PresenceDefaults, ProtobufDecoder, ProtobufOptions,
};
use superdecode::decode::{DecodeContext, JsonOptions, NumberOrString, RecordDecoder};
use superdecode::json_text::NonFinite;

const PROTOBUF: i32 = 1;
const JSON: i32 = 2;

fn main() {
    if let Err(e) = run() {
        eprintln!("conformance_testee: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let src = std::env::var("SUPERDECODE_CONFORMANCE_SRC")
        .map_err(|_| "SUPERDECODE_CONFORMANCE_SRC must name the protobuf source tree")?;
    let read = |path: &str| {
        std::fs::read_to_string(format!("{src}/{path}")).map_err(|e| format!("{path}: {e}"))
    };
    let protocol = protocol(&src)?;
    let request_type = protocol
        .get_message_by_name("conformance.ConformanceRequest")
        .ok_or("no ConformanceRequest")?;
    let response_type = protocol
        .get_message_by_name("conformance.ConformanceResponse")
        .ok_or("no ConformanceResponse")?;
    let options = JsonOptions {
        non_finite: NonFinite::String,
        protobuf: ProtobufOptions {
            field_names: FieldNames::Json,
            defaults: PresenceDefaults::Omit,
            enums: EnumEncoding::Name,
            int64: NumberOrString::String,
        },
        ..JsonOptions::default()
    };
    let proto3 = ProtobufDecoder::new(
        &read("src/google/protobuf/test_messages_proto3.proto")?,
        &options,
    )
    .map_err(|e| e.to_string())?;
    let proto2 = ProtobufDecoder::new(
        &read("src/google/protobuf/test_messages_proto2.proto")?,
        &options,
    )
    .map_err(|e| e.to_string())?;

    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut answers: std::collections::BTreeMap<&str, usize> = Default::default();
    loop {
        let mut len = [0u8; 4];
        match stdin.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                // What the testee answered, for docs/conformance.md.
                eprintln!("conformance_testee answered: {answers:?}");
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        }
        let mut request = vec![0u8; u32::from_le_bytes(len) as usize];
        stdin.read_exact(&mut request).map_err(|e| e.to_string())?;
        let request = DynamicMessage::decode(request_type.clone(), request.as_slice())
            .map_err(|e| format!("bad request: {e}"))?;
        let (field, value) = answer(&request, &proto3, &proto2);
        *answers.entry(field).or_default() += 1;
        let mut response = DynamicMessage::new(response_type.clone());
        response.set_field_by_name(field, value);
        let bytes = response.encode_to_vec();
        stdout
            .write_all(&(bytes.len() as u32).to_le_bytes())
            .and_then(|()| stdout.write_all(&bytes))
            .and_then(|()| stdout.flush())
            .map_err(|e| e.to_string())?;
    }
}

/// `conformance.proto`, compiled with protox.
fn protocol(src: &str) -> Result<prost_reflect::DescriptorPool, String> {
    let files = protox::compile(["conformance.proto"], [format!("{src}/conformance")])
        .map_err(|e| format!("conformance.proto: {e}"))?;
    prost_reflect::DescriptorPool::from_file_descriptor_set(files).map_err(|e| e.to_string())
}

/// The response member to set and its value.
fn answer(
    request: &DynamicMessage,
    proto3: &ProtobufDecoder,
    proto2: &ProtobufDecoder,
) -> (&'static str, Value) {
    let message_type = request
        .get_field_by_name("message_type")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if message_type == "conformance.FailureSet" {
        // No expected failures: an empty FailureSet.
        return ("protobuf_payload", Value::Bytes(Vec::new().into()));
    }
    let output = request
        .get_field_by_name("requested_output_format")
        .and_then(|v| v.as_enum_number())
        .unwrap_or(0);
    let payload = match request.get_field_by_name("protobuf_payload") {
        Some(v) if request.has_field_by_name("protobuf_payload") => v.as_bytes().cloned(),
        _ => None,
    };
    let skip = |why: &str| ("skipped", Value::String(why.to_owned()));
    let Some(payload) = payload else {
        return skip("superdecode reads protobuf binary input only");
    };
    let decoder = match message_type.as_str() {
        "protobuf_test_messages.proto3.TestAllTypesProto3" => proto3,
        "protobuf_test_messages.proto2.TestAllTypesProto2" => proto2,
        other => return skip(&format!("unknown message type {other}")),
    };
    let unknown = AtomicU64::new(0);
    let ctx = DecodeContext {
        message: Some(&message_type),
        unknown_fields: &unknown,
        ..DecodeContext::default()
    };
    let mut out = String::new();
    // Every binary input is decoded, whatever output is asked for, so that invalid input
    // is a parse error; only JSON output can be answered with the result.
    let result = decoder.decode(&payload, &ctx, &mut out);
    match (result, output) {
        (Ok(()), JSON) => ("json_payload", Value::String(out)),
        (Err(e), JSON) if e.message.contains("has no ProtoJSON form") => {
            ("serialize_error", Value::String(e.to_string()))
        }
        (Err(e), _) if !e.message.contains("has no ProtoJSON form") => {
            ("parse_error", Value::String(e.to_string()))
        }
        (_, PROTOBUF) => skip("superdecode writes JSON only (binary input decoded fine)"),
        _ => skip("superdecode writes JSON only (no text format or JSPB)"),
    }
}
