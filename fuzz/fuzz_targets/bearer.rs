//! The `Authorization` parser of the layer (`mcp_auth_runtime::layer::bearer_token`).
//!
//! Input: one byte for the size cap, then up to three header values separated by `\n`.
//! Checked on every input: no panic, and whatever is accepted is exactly one header within the
//! cap, scheme `Bearer` in any case followed by a space, and a non-empty RFC 6750 `b64token`
//! equal to the rest of the value with surrounding spaces removed.
#![no_main]

use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use libfuzzer_sys::fuzz_target;
use mcp_auth_runtime::{Rejection, layer::bearer_token};

fuzz_target!(|data: &[u8]| {
    let Some((&cap, rest)) = data.split_first() else {
        return;
    };
    let max = if cap == 0 { 8192 } else { usize::from(cap) * 4 };
    let mut headers = HeaderMap::new();
    let mut sent = 0;
    for value in rest.splitn(3, |b| *b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.append(AUTHORIZATION, v);
            sent += 1;
        }
    }
    match bearer_token(&headers, max) {
        Ok(token) => {
            assert_eq!(sent, 1, "accepted with {sent} Authorization headers");
            let raw = headers[AUTHORIZATION].as_bytes();
            assert!(raw.len() <= max, "accepted past the cap");
            let text = std::str::from_utf8(raw).expect("accepted a non-UTF-8 header");
            assert!(
                text.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "accepted a header that is not visible ASCII: {text:?}"
            );
            assert!(text.len() > 7 && text[..6].eq_ignore_ascii_case("bearer"));
            assert_eq!(text.as_bytes()[6], b' ');
            assert_eq!(text[7..].trim_matches(' '), token);
            let body = token.trim_end_matches('=');
            assert!(
                !body.is_empty()
                    && body
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)),
                "accepted a token that is not a b64token: {token:?}"
            );
        }
        Err(Rejection::MissingToken {
            other_scheme: false,
        }) => assert_eq!(sent, 0, "a sent header was reported missing"),
        Err(Rejection::HeaderTooLarge) => {
            assert_eq!(sent, 1);
            assert!(headers[AUTHORIZATION].len() > max);
        }
        Err(_) => {}
    }
});
