//! Shared by the micro and load benchmarks: signing keys made with the `openssl` command at
//! start (never stored in the repository) and JWTs minted with them.

#![allow(dead_code)] // each benchmark uses a part

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// A private key (PEM) and its public half (PEM), written under a temporary directory.
pub struct KeyPair {
    pub alg: Algorithm,
    pub private_pem: Vec<u8>,
    pub public_pem: Vec<u8>,
    pub public_path: PathBuf,
    encoding: EncodingKey,
}

impl KeyPair {
    /// A fresh key for `alg` (RS256: RSA 2048; ES256: P-256; EdDSA: Ed25519).
    pub fn generate(alg: Algorithm, dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("key directory");
        let name = format!("{alg:?}").to_lowercase();
        let private = dir.join(format!("{name}.pem"));
        let public = dir.join(format!("{name}.pub.pem"));
        let algorithm: &[&str] = match alg {
            Algorithm::RS256 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            Algorithm::ES256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Algorithm::EdDSA => &["-algorithm", "ed25519"],
            other => panic!("no key generator for {other:?}"),
        };
        run(Command::new("openssl")
            .arg("genpkey")
            .args(algorithm)
            .arg("-out")
            .arg(&private));
        run(Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public));
        let private_pem = std::fs::read(&private).expect("private key");
        let public_pem = std::fs::read(&public).expect("public key");
        let encoding = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&private_pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&private_pem),
            _ => EncodingKey::from_ed_pem(&private_pem),
        }
        .expect("encoding key");
        Self {
            alg,
            private_pem,
            public_pem,
            public_path: public,
            encoding,
        }
    }

    /// A signed access token with these claims (`typ: at+jwt`).
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

/// RFC 9068-shaped claims for `subject`, valid for an hour.
pub fn claims(issuer: &str, audience: &str, subject: &str, scope: &str, roles: &[&str]) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    json!({
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "client_id": "bench-client",
        "scope": scope,
        "roles": roles,
        "iat": now,
        "exp": now + 3600,
    })
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("run openssl (Debian package `openssl`)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh temporary directory for this process.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-auth-bench-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
