//! The JWT path: `JwtVerifier` (HMAC secret, static keys: no network) on arbitrary token text.
//!
//! Checked on every input: no panic, the verification completes without waiting on anything
//! (static keys do no I/O), and whatever is accepted satisfies every documented check (see
//! `common.rs`). The seed corpus holds valid tokens, so mutations start from accepted inputs.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_auth_runtime::TokenVerifier;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(verified) = common::ready(common::verifier().verify(token)) {
        common::check_accepted(token, &verified);
    }
});
