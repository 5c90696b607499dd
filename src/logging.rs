//! Log setup: JSON lines on stdout in Lambda (CloudWatch), plain text on stderr for the
//! CLI so that stdout carries only results. `SUPERDECODE_LOG` sets the filter
//! (default `info` in Lambda, `warn` on the command line).

use tracing_subscriber::EnvFilter;

pub fn init(lambda: bool) {
    let default = if lambda { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_env("SUPERDECODE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if lambda {
        builder
            .json()
            .with_current_span(false)
            .with_ansi(false)
            .without_time()
            .with_writer(std::io::stdout)
            .try_init()
    } else {
        builder.with_writer(std::io::stderr).try_init()
    };
    // Already initialised (tests): keep the existing subscriber.
    drop(result);
}
