//! The JWT path past the signature: the input is a JOSE header and a claim set (split at the
//! first `\n`), which this target signs with the verifier's own HMAC secret, so that every
//! claim check (`exp`, `nbf`, `iat`, `iss`, `aud`, `crit`, duplicate names, odd types) is
//! reached. Whatever is accepted must satisfy every documented check (see `common.rs`).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_auth_runtime::TokenVerifier;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == b'\n');
    let header = parts.next().unwrap_or_default();
    let claims = parts.next().unwrap_or_default();
    let token = common::sign(header, claims);
    if let Ok(verified) = common::ready(common::verifier().verify(&token)) {
        common::check_accepted(&token, &verified);
    }
});
