//! Logging for whole test runs. Hook for `tests/common/mod.rs` (declare the module with
//! `#[path = "../hardening/test_log.rs"] mod test_log;`, then in `start_with`, after the
//! tokens are generated: `test_log::watch(tokens.all_raw());`).
//!
//! With `MCP_AUTH_TEST_LOG=<path>` set, [`init_from_env`]
//! installs a subscriber writing every event of every target at TRACE, as JSON lines, to
//! `<path>`, and [`issued`] appends the tokens a test issued to `<path>.tokens`; the
//! `suite_log_has_no_issued_token` test of `tests/audit.rs` then reads both and fails if any
//! token appears in the log. Without the variable both are no-ops.
#![allow(dead_code)]

use std::{
    fs::OpenOptions,
    io::Write,
    sync::{Mutex, OnceLock},
};

/// The variable naming the log file.
pub const ENV: &str = "MCP_AUTH_TEST_LOG";

/// Install the file subscriber once per test process, if `MCP_AUTH_TEST_LOG` is set.
pub fn init_from_env() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let Some(path) = std::env::var_os(ENV) else {
            return;
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{ENV}={}: {e}", path.to_string_lossy()));
        let _ = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(Mutex::new(file))
            .try_init();
    });
}

/// Both at once, for a test harness: log to the file and remember `tokens`.
pub fn watch<'a>(tokens: impl IntoIterator<Item = &'a str>) {
    init_from_env();
    issued(tokens);
}

/// Remember tokens a test issued, for the check at the end of the run.
pub fn issued<'a>(tokens: impl IntoIterator<Item = &'a str>) {
    let Some(path) = std::env::var_os(ENV) else {
        return;
    };
    let mut path = path;
    path.push(".tokens");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()));
    for t in tokens {
        writeln!(file, "{t}").expect("write the token list");
    }
}
