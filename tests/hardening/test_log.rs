//! The log of a test process, for the checks that no credential is ever logged.
//!
//! One `tracing` subscriber per test process, at TRACE for every crate, writing JSON lines to
//! up to two places:
//! - with `MCP_AUTH_TEST_LOG=<path>` set (`scripts/test.sh` sets it for the whole suite), the
//!   file `<path>`, appended to by every test process; [`watch`] appends the tokens a test
//!   issued to `<path>.tokens`, and `suite_log_has_no_issued_token` (tests/audit.rs), run
//!   after the suite, looks for each of them in every line;
//! - after [`capture`], an in-memory buffer the audit tests read.
//!
//! With neither, nothing is installed and logging costs nothing. `tests/common` and
//! `tests/common/idp.rs` call [`watch`] wherever they issue tokens, so every test that uses
//! them takes part.
#![allow(dead_code)]

use std::{
    fs::{File, OpenOptions},
    io::Write,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
};

/// The variable naming the log file.
pub const ENV: &str = "MCP_AUTH_TEST_LOG";

/// Whether [`capture`] was called: from then on every line is also kept in memory.
static CAPTURING: AtomicBool = AtomicBool::new(false);

fn buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(Arc::default)
}

fn file() -> Option<&'static Mutex<File>> {
    static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::var_os(ENV)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{ENV}={}: {e}", path.to_string_lossy()));
        Some(Mutex::new(file))
    })
    .as_ref()
}

/// Where every formatted line goes.
#[derive(Clone, Copy)]
struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = file() {
            // One `write_all` per line on an O_APPEND file: lines of concurrent test processes
            // do not interleave.
            file.lock()
                .unwrap_or_else(|e| e.into_inner())
                .write_all(buf)?;
        }
        if CAPTURING.load(Ordering::Acquire) {
            buffer()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Install the subscriber, once per process.
fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Sink)
            .try_init()
            .expect("tests/hardening/test_log.rs installs the only subscriber of a test process");
    });
}

/// Log to the file if `MCP_AUTH_TEST_LOG` is set.
pub fn init_from_env() {
    if file().is_some() {
        install();
    }
}

/// Keep every line logged from now on in memory (installing the subscriber if needed), and
/// return that buffer.
pub fn capture() -> Arc<Mutex<Vec<u8>>> {
    CAPTURING.store(true, Ordering::Release);
    install();
    buffer().clone()
}

/// Log to the file if `MCP_AUTH_TEST_LOG` is set, and record `tokens` as issued.
pub fn watch<'a>(tokens: impl IntoIterator<Item = &'a str>) {
    init_from_env();
    issued(tokens);
}

/// Record tokens (or secrets) a test issued, for the check at the end of the run.
pub fn issued<'a>(tokens: impl IntoIterator<Item = &'a str>) {
    let Some(path) = std::env::var_os(ENV) else {
        return;
    };
    let mut path = path;
    path.push(".tokens");
    let mut list = String::new();
    for t in tokens {
        list.push_str(t);
        list.push('\n');
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(list.as_bytes()))
        .unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()));
}
