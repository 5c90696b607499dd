//! `superdecode`: a Lambda function when the Lambda runtime API is present, otherwise a
//! command-line tool.

#![forbid(unsafe_code)]

use std::process::ExitCode;

// One thread: a batch is decoded on the task that handles it, and registry calls are
// awaited, not run in parallel with it, so worker threads would only add start-up time
// (a tenth of a one-row `invoke`).
#[tokio::main(flavor = "current_thread")]
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
