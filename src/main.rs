//! `superdecode`: a Lambda function when the Lambda runtime API is present, otherwise a
//! command-line tool.

#![forbid(unsafe_code)]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        match superdecode::lambda::run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("superdecode: Lambda runtime stopped: {e}");
                ExitCode::FAILURE
            }
        }
    } else {
        superdecode::cli::run().await
    }
}
